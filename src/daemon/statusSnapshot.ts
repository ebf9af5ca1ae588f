import type { DaemonStatus, JobInfo, KernelOutcome } from '../protocol/messages.js';
import type { FailureRecord } from './failures/failureMemory.js';
import type { KernelState } from './kernels/kernelScheduler.js';
import type { BuildRequest, StartedBuild } from '../engine/queue/buildQueue.js';
import type { KernelProbe } from './watch/kernelProbe.js';
import type { OwedKernel } from '../core/finishLedger.js';
import type { ReadinessRecord } from '../core/readiness.js';
import type { HeldInhibitor } from './systemd/inhibitor.js';

export interface StatusInput {
  version: string;
  state: DaemonStatus['state'];
  startedAt: Date;
  socket: string;
  statusSocket: string | undefined;
  runningKernel: string;
  queue: { running: StartedBuild[]; waiting: BuildRequest[] };
  probes: ReadonlyMap<string, KernelProbe>;
  kernels: { probe: KernelProbe; state: KernelState; lastOutcome: KernelOutcome | undefined }[];
  failures: FailureRecord[];
  /** The finish ledger: kernels owed depmod, initramfs or udev. */
  owed: OwedKernel[];
  /** Shutdown locks held (while building for a kernel that is not running). */
  inhibitors?: HeldInhibitor[];
  /** A kernel's readiness record (docs/readiness.md). */
  readiness?: (kernel: string) => ReadinessRecord | undefined;
}

const jobInfo = (request: BuildRequest, started?: StartedBuild): JobInfo => ({
  module: request.module,
  version: request.version,
  kernel: request.kernel,
  arch: request.arch,
  ...(started ? { makeJobs: started.makeJobs, startedAt: started.startedAt.toISOString() } : {}),
});

/** The `status` reply: every kernel directory, what runs, what failed. Pure. */
export function buildStatus(input: StatusInput): DaemonStatus {
  const scheduled = new Map(input.kernels.map((entry) => [entry.probe.kernel, entry]));
  const names = [...new Set([...input.probes.keys(), ...scheduled.keys()])].sort();
  return {
    pid: process.pid,
    version: input.version,
    state: input.state,
    startedAt: input.startedAt.toISOString(),
    socket: input.socket,
    ...(input.statusSocket ? { statusSocket: input.statusSocket } : {}),
    runningKernel: input.runningKernel,
    jobs: {
      running: input.queue.running.map((build) => jobInfo(build.request, build)),
      waiting: input.queue.waiting.map((request) => jobInfo(request)),
    },
    kernels: names.map((kernel) => {
      const probe = input.probes.get(kernel) ?? scheduled.get(kernel)?.probe;
      const entry = scheduled.get(kernel);
      const state =
        entry && entry.state !== 'idle' ? entry.state : probe?.headers ? 'idle' : 'no-headers';
      const readiness = input.readiness?.(kernel);
      return {
        kernel,
        ...(probe?.headers ? { headers: probe.headers } : {}),
        state,
        ...(entry?.lastOutcome ? { lastOutcome: entry.lastOutcome } : {}),
        ...(readiness ? { readiness: { state: readiness.state, missing: readiness.missing } } : {}),
      };
    }),
    owed: input.owed.map((entry) => ({ ...entry, steps: [...entry.steps] })),
    inhibitors: input.inhibitors ?? [],
    rememberedFailures: input.failures.map((record) => ({
      module: record.module,
      version: record.version,
      kernel: record.kernel,
      arch: record.arch,
      since: record.since,
      ...(record.logPath ? { logPath: record.logPath } : {}),
    })),
  };
}
