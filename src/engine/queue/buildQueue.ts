import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import { DkmsError, toDkmsError } from '../../core/errors.js';
import type { JobserverAuth } from '../../core/exec.js';
import type { JobResult } from '../autoinstall.js';
import type { BuildRef } from '../../core/stateTree.js';
import { MakeJobserver } from './jobserver.js';
import { makeJobsFor } from './makeJobs.js';

/** One module/version to build and install for one kernel/arch. */
export interface BuildRequest extends BuildRef {
  /** Builds with a higher priority start first (the running kernel's). @default 0 */
  priority: number;
  /** Compile units: how much of `make -j` the build can use. */
  units: number;
  /** How long the build is expected to take (ms): the longest start first. @default 0 */
  estimateMs?: number;
  /** Headers somewhere else than `<install_tree>/<kver>/build` (--kernelsourcedir). */
  kernelSourceDir?: string | undefined;
}

export interface StartedBuild {
  request: BuildRequest;
  /** Its own `make -j`, or the size of the jobserver it shares. */
  makeJobs: number;
  /** Whether its makes join the queue's jobserver. */
  jobserver: boolean;
  startedAt: Date;
}

/**
 * Builds and installs one module; must not throw (failures are results). With a jobserver,
 * make runs without -j and joins it.
 */
export type BuildRunner = (
  request: BuildRequest,
  makeJobs: number,
  signal: AbortSignal,
  jobserver?: JobserverAuth,
) => Promise<JobResult>;

export interface BuildQueueOptions {
  /** Builds running at once. */
  concurrency: number;
  /** `make -j` slots shared by the running builds. */
  cpus: number;
  /**
   * Share the slots through one GNU make jobserver (nested makes join it too) instead of a
   * fixed `-j` per build; falls back to fixed shares where no jobserver can be opened.
   * @default false
   */
  jobserver?: boolean;
  run: BuildRunner;
  onStart?: (build: StartedBuild) => void;
  onFinish?: (build: StartedBuild, result: JobResult) => void;
}

/** How often a build waiting for a jobserver token looks for one. */
const TOKEN_POLL_MS = 50;

/**
 * The running kernel's builds first; among equals, the longest (else the biggest) first:
 * started last, a long build would keep one CPU busy long after everything else is done.
 */
const queuePriority = (request: BuildRequest): number =>
  request.priority * 1e12 +
  Math.min(request.estimateMs ?? 0, 1e12 - 1e6) +
  Math.min(request.units, 999_999);

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
  private jobserver: MakeJobserver | undefined;
  /** Builds holding a CPU: the first on the queue's implicit token, the others on one each. */
  private holding = 0;
  /** CPUs a finished build handed to a queued build that has not started yet (giveSlot). */
  private handedOver = 0;

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
    } catch (error) {
      // Only a cancelled build is "cancelled"; anything else keeps its code and log path.
      if (signal.aborted) return abortedResult(request);
      return {
        ref: { module: request.module, version: request.version },
        status: 'failed',
        error: toDkmsError(error),
      };
    } finally {
      if (this.waiting.delete(key)) this.settleHandovers();
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
    if (signal.aborted) {
      this.settleHandovers();
      return abortedResult(request);
    }
    const jobserver = this.openJobserver();
    if (jobserver && !(await this.takeSlot(jobserver, signal))) {
      this.settleHandovers();
      return abortedResult(request);
    }
    const build: StartedBuild = {
      request,
      makeJobs: jobserver ? jobserver.jobs : this.makeJobs(request),
      jobserver: jobserver !== undefined,
      startedAt: new Date(),
    };
    this.running.set(key, build);
    this.options.onStart?.(build);
    try {
      const result = await this.options.run(request, build.makeJobs, signal, jobserver?.auth);
      this.options.onFinish?.(build, result);
      return result;
    } finally {
      this.running.delete(key);
      if (jobserver) this.giveSlot(jobserver);
    }
  }

  private openJobserver(): MakeJobserver | undefined {
    if (this.options.jobserver) this.jobserver ??= MakeJobserver.open(this.options.cpus);
    return this.jobserver;
  }

  /**
   * A CPU for a build: one a finished build handed over, the implicit token when nothing holds
   * one (the pipe is refilled then), else a token from the pipe. False on abort.
   */
  private async takeSlot(jobserver: MakeJobserver, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      if (this.handedOver > 0) {
        this.handedOver--;
        return true;
      }
      if (this.holding === 0) {
        jobserver.reset();
        this.holding = 1;
        return true;
      }
      if (jobserver.tryAcquire()) {
        this.holding++;
        return true;
      }
      await sleep(TOKEN_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * A finished build's CPU goes to the next queued build directly. Put back in the pipe it
   * would go to a running make: make blocks reading the pipe and always wins a token against
   * the queue's polling, so small builds would wait for a large build's make to end.
   */
  private giveSlot(jobserver: MakeJobserver): void {
    if (this.waiting.size > this.handedOver) {
      this.handedOver++;
      return;
    }
    this.holding--;
    if (this.holding > 0) jobserver.release();
  }

  /** CPUs handed to queued builds that left without starting go back to the pipe. */
  private settleHandovers(): void {
    while (this.handedOver > this.waiting.size) {
      this.handedOver--;
      this.holding--;
      if (this.holding > 0) this.jobserver?.release();
    }
  }

  /** Without a jobserver: the build's share of `make -j` (see makeJobsFor). */
  private makeJobs(request: BuildRequest): number {
    const slotsLeft = Math.max(0, this.queue.concurrency - this.running.size - 1);
    const companions = [...this.waiting.values()]
      .sort((a, b) => queuePriority(b) - queuePriority(a))
      .slice(0, slotsLeft)
      .map((other) => other.units);
    const busy = [...this.running.values()].reduce((sum, build) => sum + build.makeJobs, 0);
    return makeJobsFor({ cpus: this.options.cpus, units: request.units, busy, companions });
  }

  /** Closes the jobserver (the queue opens another if it is used again). */
  close(): void {
    this.jobserver?.close();
    this.jobserver = undefined;
  }
}
