import { z } from 'zod';
import { isKernelRelease, isModuleWord } from '../util/names.js';

/**
 * The dkmsd socket protocol: one JSON object per line each way. The client sends a request,
 * the daemon answers with exactly one response per request, in order. Server and client
 * both validate with these schemas.
 */
const kernelRelease = z.string().refine(isKernelRelease, 'not a valid kernel release');
const moduleWord = z.string().refine(isModuleWord, 'not a valid module name or version');

export const requestSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('kernel-added'),
      kernel: kernelRelease,
      /** Answer when the kernel is finished instead of at once. */
      wait: z.boolean().default(false),
      /** Build modules again that failed before, although nothing changed since. */
      retryFailed: z.boolean().default(false),
    })
    .strict(),
  /** Answered when the kernel's modules are gone (it is quick). */
  z.object({ type: z.literal('kernel-removed'), kernel: kernelRelease }).strict(),
  z
    .object({
      type: z.literal('module-added'),
      module: moduleWord,
      version: moduleWord,
      wait: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('rescan'),
      wait: z.boolean().default(false),
      retryFailed: z.boolean().default(false),
    })
    .strict(),
  z.object({ type: z.literal('status') }).strict(),
]);

export type Request = z.infer<typeof requestSchema>;
/** What a client may send (defaults filled in by the daemon). */
export type RequestInput = z.input<typeof requestSchema>;
export type RequestType = Request['type'];
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

/** Requests that change the system; they need a socket only root can reach. */
export const isMutating = (request: Request): boolean => request.type !== 'status';

const moduleRef = z.object({ module: z.string(), version: z.string() });

const failedModule = moduleRef.extend({
  code: z.string(),
  message: z.string(),
  logPath: z.string().optional(),
  /** Failed in an earlier run with the same source and kernel; not built again. */
  remembered: z.boolean(),
});

const finishStep = z.object({
  /** `owed`: not run now; the finish ledger keeps it for later (dkmsd was stopping, depmod failed). */
  status: z.enum(['ran', 'failed', 'not-needed', 'disabled', 'owed']),
  command: z.string().optional(),
  message: z.string().optional(),
});

export const kernelOutcomeSchema = z.object({
  kernel: z.string(),
  arch: z.string(),
  result: z.enum(['ok', 'failed', 'aborted']),
  installed: z.array(moduleRef),
  alreadyInstalled: z.array(moduleRef),
  skipped: z.array(moduleRef.extend({ reason: z.string() })),
  failed: z.array(failedModule),
  broken: z.array(moduleRef),
  depmod: finishStep,
  initramfs: finishStep,
  udev: finishStep,
  /** The run itself failed (the tree or the confs could not be read). */
  error: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
});

export const removalOutcomeSchema = z.object({
  kernel: z.string(),
  arch: z.string(),
  result: z.enum(['ok', 'failed']),
  removed: z.array(z.string()),
  message: z.string().optional(),
});

const jobInfo = z.object({
  module: z.string(),
  version: z.string(),
  kernel: z.string(),
  arch: z.string(),
  makeJobs: z.number().optional(),
  startedAt: z.string().optional(),
});

export const daemonStatusSchema = z.object({
  pid: z.number(),
  version: z.string(),
  state: z.enum(['starting', 'catching-up', 'idle', 'busy', 'stopping']),
  startedAt: z.string(),
  /** The control socket (root only). */
  socket: z.string(),
  /** The status socket, when dkmsd has one. */
  statusSocket: z.string().optional(),
  runningKernel: z.string(),
  jobs: z.object({ running: z.array(jobInfo), waiting: z.array(jobInfo) }),
  kernels: z.array(
    z.object({
      kernel: z.string(),
      headers: z.string().optional(),
      state: z.enum(['idle', 'planning', 'building', 'finishing', 'removing', 'no-headers']),
      lastOutcome: kernelOutcomeSchema.optional(),
      /** The kernel's readiness record (docs/readiness.md), when it has one. */
      readiness: z
        .object({
          state: z.enum(['ready', 'missing-modules', 'building']),
          missing: z.array(
            moduleRef.extend({
              reason: z.string(),
              code: z.string().optional(),
              logPath: z.string().optional(),
            }),
          ),
        })
        .optional(),
    }),
  ),
  /** The finish ledger: what kernels are owed (steps that failed or were interrupted). */
  owed: z.array(
    z.object({
      kernel: z.string(),
      arch: z.string(),
      steps: z.array(z.enum(['depmod', 'initramfs', 'udev'])),
    }),
  ),
  /** Shutdown/sleep locks dkmsd holds while building for a kernel that is not running. */
  inhibitors: z
    .array(z.object({ kernel: z.string(), why: z.string(), since: z.string() }))
    .default([]),
  rememberedFailures: z.array(
    moduleRef.extend({
      kernel: z.string(),
      arch: z.string(),
      logPath: z.string().optional(),
      since: z.string(),
    }),
  ),
});

export const ERROR_CODES = [
  'BAD_JSON',
  'BAD_REQUEST',
  'TOO_LARGE',
  'IDLE_TIMEOUT',
  'NOT_PERMITTED',
  'NOT_ADDED',
  'NO_HEADERS',
  'SHUTTING_DOWN',
  'BUSY',
  'INTERNAL',
] as const;

export const responseSchema = z.discriminatedUnion('type', [
  /** Without `wait`: the work is queued for these kernels. */
  z.object({ type: z.literal('accepted'), kernels: z.array(z.string()) }),
  z.object({ type: z.literal('finished'), kernels: z.array(kernelOutcomeSchema) }),
  z.object({ type: z.literal('removed'), outcome: removalOutcomeSchema }),
  z.object({ type: z.literal('status'), status: daemonStatusSchema }),
  z.object({ type: z.literal('error'), code: z.enum(ERROR_CODES), message: z.string() }),
]);

export type Response = z.infer<typeof responseSchema>;
export type KernelOutcome = z.infer<typeof kernelOutcomeSchema>;
export type RemovalOutcome = z.infer<typeof removalOutcomeSchema>;
export type DaemonStatus = z.infer<typeof daemonStatusSchema>;
export type JobInfo = z.infer<typeof jobInfo>;
export type FailedModule = z.infer<typeof failedModule>;
export type FinishStepResult = z.infer<typeof finishStep>;
export type ProtocolErrorCode = (typeof ERROR_CODES)[number];

export const errorResponse = (code: ProtocolErrorCode, message: string): Response => ({
  type: 'error',
  code,
  message,
});

/** One server-side handler per request type, checked for exhaustiveness by the compiler. */
export type RequestHandlers = { [T in RequestType]: (request: RequestOf<T>) => Promise<Response> };
