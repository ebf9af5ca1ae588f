import type { Logger } from 'pino';
import {
  errorResponse,
  type DaemonStatus,
  type KernelOutcome,
  type RequestHandlers,
  type Response,
} from '../protocol/messages.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { KernelScheduler } from './kernels/kernelScheduler.js';
import type { KernelTracker } from './watch/kernelTracker.js';
import type { KernelProbe } from './watch/kernelProbe.js';

/** What the request handlers need from the daemon. */
export interface DaemonCore {
  scheduler: KernelScheduler;
  kernels: KernelTracker;
  isAdded(ref: ModuleVersionRef): boolean;
  /** Looks at the install tree again (what the watcher does after events). */
  reconcile(): Promise<void>;
  /** What rescan plans: kernels to build for, and kernels owed finish steps. */
  catchUpKernels(): KernelProbe[];
  status(): DaemonStatus;
}

/** Replies at once, or when the kernels are finished with `wait`. */
async function reply(
  kernels: readonly string[],
  done: Promise<KernelOutcome[]>,
  wait: boolean,
  logger: Logger,
): Promise<Response> {
  if (wait) return { type: 'finished', kernels: await done };
  done.catch((error: unknown) => logger.error({ err: error, kernels }, 'kernel run failed'));
  return { type: 'accepted', kernels: [...kernels] };
}

export function createRequestHandlers(core: DaemonCore, logger: Logger): RequestHandlers {
  return {
    'kernel-added': (request) => {
      const probe = core.kernels.probe(request.kernel);
      if (!probe.headers)
        return Promise.resolve(
          errorResponse('NO_HEADERS', core.kernels.headersHint(request.kernel)),
        );
      core.kernels.setRemoved(request.kernel, false);
      return reply(
        [request.kernel],
        core.scheduler.request([probe], { retryFailed: request.retryFailed }),
        request.wait,
        logger,
      );
    },
    'kernel-removed': async (request) => {
      core.kernels.setRemoved(request.kernel, core.kernels.probe(request.kernel).exists);
      return { type: 'removed', outcome: await core.scheduler.remove(request.kernel) };
    },
    'module-added': (request) => {
      const ref = { module: request.module, version: request.version };
      if (!core.isAdded(ref)) {
        return Promise.resolve(
          errorResponse(
            'NOT_ADDED',
            `${ref.module}/${ref.version} is not added to dkms (run dkms add first).`,
          ),
        );
      }
      const probes = core.kernels.buildable();
      return reply(
        probes.map((probe) => probe.kernel),
        core.scheduler.request(probes, { forced: ref }),
        request.wait,
        logger,
      );
    },
    rescan: async (request) => {
      await core.reconcile();
      const probes = core.catchUpKernels();
      return reply(
        probes.map((probe) => probe.kernel),
        core.scheduler.request(probes, { retryFailed: request.retryFailed }),
        request.wait,
        logger,
      );
    },
    status: () => Promise.resolve({ type: 'status', status: core.status() }),
  };
}
