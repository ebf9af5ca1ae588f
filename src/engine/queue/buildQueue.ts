import PQueue from 'p-queue';
import { DkmsError } from '../../core/errors.js';
import type { JobResult } from '../autoinstall.js';
import type { BuildRef } from '../../core/stateTree.js';
import { makeJobsFor } from './makeJobs.js';

/** One module/version to build and install for one kernel/arch. */
export interface BuildRequest extends BuildRef {
  /** Builds with a higher priority start first (the running kernel's). @default 0 */
  priority: number;
  /** Compile units: how much of `make -j` the build can use. */
  units: number;
  /** Headers somewhere else than `<install_tree>/<kver>/build` (--kernelsourcedir). */
  kernelSourceDir?: string | undefined;
}

export interface StartedBuild {
  request: BuildRequest;
  makeJobs: number;
  startedAt: Date;
}

/** Builds and installs one module; must not throw (failures are results). */
export type BuildRunner = (
  request: BuildRequest,
  makeJobs: number,
  signal: AbortSignal,
) => Promise<JobResult>;

export interface BuildQueueOptions {
  /** Builds running at once. */
  concurrency: number;
  /** `make -j` slots shared by the running builds. */
  cpus: number;
  run: BuildRunner;
  onStart?: (build: StartedBuild) => void;
  onFinish?: (build: StartedBuild, result: JobResult) => void;
}

/**
 * The running kernel's builds first; among equals, the biggest first: started last, a long
 * build would keep one CPU busy long after everything else is done.
 */
const queuePriority = (request: BuildRequest): number =>
  request.priority * 1_000_000 + Math.min(request.units, 999_999);

export const buildKey = (ref: BuildRef): string =>
  `${ref.module}/${ref.version}/${ref.kernel}/${ref.arch}`;

const abortedResult = (request: BuildRequest): JobResult => ({
  ref: { module: request.module, version: request.version },
  status: 'failed',
  error: new DkmsError(
    'ABORTED',
    `Build of ${request.module}/${request.version} for ${request.kernel} was cancelled.`,
  ),
});

/**
 * The build queue shared by dkmsd and `dkms autoinstall`: p-queue with a concurrency limit,
 * plus what p-queue does not do: one entry per module/version/kernel/arch, builds that wait
 * for their BUILD_DEPENDS, builds of one module kept in line, and a `make -j` budget.
 */
export class BuildQueue {
  private readonly queue: PQueue;
  private readonly inFlight = new Map<string, Promise<JobResult>>();
  private readonly waiting = new Map<string, BuildRequest>();
  private readonly running = new Map<string, StartedBuild>();
  private readonly moduleTail = new Map<string, Promise<void>>();

  constructor(private readonly options: BuildQueueOptions) {
    this.queue = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  }

  /**
   * Queues a build, or returns the result of the same build already queued or running. It
   * starts once every result in `after` is in; when one of them failed it fails unbuilt.
   */
  enqueue(
    request: BuildRequest,
    after: ReadonlyMap<string, Promise<JobResult>>,
    signal: AbortSignal,
  ): Promise<JobResult> {
    const key = buildKey(request);
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const promise = this.schedule(request, after, signal).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Running builds and those waiting for a slot. */
  snapshot(): { running: StartedBuild[]; waiting: BuildRequest[] } {
    return { running: [...this.running.values()], waiting: [...this.waiting.values()] };
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Resolves when every build queued so far has settled. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async schedule(
    request: BuildRequest,
    after: ReadonlyMap<string, Promise<JobResult>>,
    signal: AbortSignal,
  ): Promise<JobResult> {
    const deps = await Promise.all(
      [...after].map(async ([module, result]) => ({ module, result: await result })),
    );
    const blocked = deps.filter((dep) => dep.result.status === 'failed').map((dep) => dep.module);
    if (blocked.length > 0) {
      return {
        ref: { module: request.module, version: request.version },
        status: 'failed',
        error: new DkmsError(
          'BUILD_DEPENDS_MISSING',
          `${request.module}/${request.version} autoinstall failed due to missing dependencies: ${blocked.join(' ')}.`,
        ),
      };
    }
    // Builds of one module serialize on its lock anyway; waiting here keeps them off a slot.
    const previous = this.moduleTail.get(request.module) ?? Promise.resolve();
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => gate);
    this.moduleTail.set(request.module, tail);
    const key = buildKey(request);
    try {
      await previous;
      if (signal.aborted) return abortedResult(request);
      this.waiting.set(key, request);
      this.gatherBatch();
      // No signal for p-queue: it would settle a running build at once on abort, before the
      // build has killed its processes and cleaned up. start() skips builds cancelled meanwhile.
      return await this.queue.add(() => this.start(request, signal), {
        priority: queuePriority(request),
      });
    } catch {
      return abortedResult(request);
    } finally {
      this.waiting.delete(key);
      release();
      if (this.moduleTail.get(request.module) === tail) this.moduleTail.delete(request.module);
    }
  }

  /**
   * Builds queued in the same turn of the event loop (one plan, or a catch-up of several
   * kernels) are all in the queue before any starts, so the order of priorities holds for
   * them; otherwise the first ones queued would take the free slots.
   */
  private gatherBatch(): void {
    if (this.queue.isPaused) return;
    this.queue.pause();
    setImmediate(() => this.queue.start());
  }

  private async start(request: BuildRequest, signal: AbortSignal): Promise<JobResult> {
    const key = buildKey(request);
    this.waiting.delete(key);
    if (signal.aborted) return abortedResult(request);
    const slotsLeft = Math.max(0, this.queue.concurrency - this.running.size - 1);
    const companions = [...this.waiting.values()]
      .sort((a, b) => queuePriority(b) - queuePriority(a))
      .slice(0, slotsLeft)
      .map((other) => other.units);
    const busy = [...this.running.values()].reduce((sum, build) => sum + build.makeJobs, 0);
    const build: StartedBuild = {
      request,
      makeJobs: makeJobsFor({ cpus: this.options.cpus, units: request.units, busy, companions }),
      startedAt: new Date(),
    };
    this.running.set(key, build);
    this.options.onStart?.(build);
    try {
      const result = await this.options.run(request, build.makeJobs, signal);
      this.options.onFinish?.(build, result);
      return result;
    } finally {
      this.running.delete(key);
    }
  }
}
