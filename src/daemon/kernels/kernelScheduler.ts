import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { isDkmsError } from '../../core/errors.js';
import { gatherCandidatesForKernels, type KernelCandidates } from '../../engine/autoinstall.js';
import { planAutoinstall } from '../../engine/autoinstallPlan.js';
import type { DkmsContext } from '../../core/context.js';
import type { KernelOutcome, RemovalOutcome } from '../../protocol/messages.js';
import type { ModuleVersionRef } from '../../core/stateTree.js';
import { FailureGate } from '../failures/failureGate.js';
import type { FailureMemory } from '../failures/failureMemory.js';
import { finishKernel, type FinishSettings } from '../finish/finishKernel.js';
import { logReporter } from '../logger.js';
import type { BuildQueue } from '../../engine/queue/buildQueue.js';
import { enqueuePlan } from '../../engine/queue/enqueuePlan.js';
import { jobEstimator, type BuildDurations } from '../../engine/queue/buildEstimates.js';
import type { KernelProbe } from '../watch/kernelProbe.js';
import { forceModules } from './forceModules.js';
import { removeKernelModules } from './kernelRemoval.js';
import { OutcomeCollector } from './outcomeCollector.js';

export type KernelState = 'idle' | 'planning' | 'building' | 'finishing' | 'removing';

interface KernelRecord {
  probe: KernelProbe;
  state: KernelState;
  run: Promise<KernelOutcome> | undefined;
  removal: Promise<RemovalOutcome> | undefined;
  /** A request came in while planning or building: plan once more before finishing. */
  dirty: boolean;
  forced: ModuleVersionRef[];
  retryFailed: boolean;
  abort: AbortController;
  lastOutcome: KernelOutcome | undefined;
}

export interface SchedulerEvents {
  'kernel-finished': [KernelOutcome];
  'kernel-removed': [RemovalOutcome];
}

export interface SchedulerOptions extends FinishSettings {
  /** Paths, framework.conf and the tree; each job gets a copy with its own reporter. */
  ctx: DkmsContext;
  queue: BuildQueue;
  failures: FailureMemory;
  /** Durations of past builds, for starting the longest first. */
  durations: BuildDurations;
  logger: Logger;
  arch: string;
  /** Aborts everything (the daemon is stopping). */
  signal: AbortSignal;
  /** Cuts a running finish command short (the stop timeout passed). */
  finishSignal?: AbortSignal;
}

export interface RequestOptions {
  /** module-added: build this one whatever its AUTOINSTALL says, even if it failed before. */
  forced?: ModuleVersionRef | undefined;
  retryFailed?: boolean | undefined;
}

/**
 * Takes a kernel from "needs its modules" to finished: plan (one batched conf evaluation),
 * queue the builds, record failures, then depmod / initramfs / udev once. One run per kernel
 * at a time; requests arriving meanwhile join it.
 */
export class KernelScheduler extends EventEmitter<SchedulerEvents> {
  private readonly records = new Map<string, KernelRecord>();
  private readonly gate: FailureGate;

  constructor(private readonly options: SchedulerOptions) {
    super();
    this.gate = new FailureGate(options.failures, options.ctx, options.arch);
  }

  /** Starts (or joins) a run for each kernel; resolves when all of them are finished. */
  request(probes: readonly KernelProbe[], options: RequestOptions = {}): Promise<KernelOutcome[]> {
    const fresh: KernelRecord[] = [];
    const waits = new Map<string, Promise<KernelOutcome>>();
    for (const probe of probes) {
      const record = this.record(probe);
      if (options.forced) record.forced.push(options.forced);
      if (options.retryFailed) record.retryFailed = true;
      if (record.removal) {
        waits.set(probe.kernel, this.after(record.removal, probe));
      } else if (!record.run) {
        fresh.push(record);
      } else if (record.state === 'planning' || record.state === 'building') {
        record.dirty = true;
        waits.set(probe.kernel, record.run);
      } else {
        waits.set(probe.kernel, this.after(record.run, probe));
      }
    }
    if (fresh.length > 0) {
      // A kernel without headers gets no builds, only what it is owed (the finish ledger).
      const gathered = this.gather(fresh.filter((record) => record.probe.headers !== undefined));
      for (const record of fresh) {
        record.state = 'planning';
        const run = this.runKernel(record, gathered).finally(() => {
          if (record.run === run) record.run = undefined;
        });
        record.run = run;
        waits.set(record.probe.kernel, run);
      }
    }
    return Promise.all(
      probes.map(
        (probe) =>
          waits.get(probe.kernel) ?? Promise.reject(new Error(`no run for ${probe.kernel}`)),
      ),
    );
  }

  /** What kernel_prerm does: removes every module built for the kernel. Cancels its builds first. */
  remove(kernel: string): Promise<RemovalOutcome> {
    const record =
      this.records.get(kernel) ??
      this.record({ kernel, headers: undefined, headersElsewhere: false });
    if (record.removal) return record.removal;
    record.abort.abort();
    record.dirty = false;
    const removal = this.runRemoval(record).finally(() => {
      if (this.records.get(kernel) === record) this.records.delete(kernel);
    });
    record.removal = removal;
    return removal;
  }

  kernels(): { probe: KernelProbe; state: KernelState; lastOutcome: KernelOutcome | undefined }[] {
    return [...this.records.values()].map((record) => ({
      probe: record.probe,
      state: record.state,
      lastOutcome: record.lastOutcome,
    }));
  }

  /** Kernels whose finish steps are running now. */
  finishing(): string[] {
    return [...this.records.values()]
      .filter((record) => record.state === 'finishing')
      .map((record) => record.probe.kernel);
  }

  get busy(): boolean {
    return [...this.records.values()].some(
      (record) => record.run !== undefined || record.removal !== undefined,
    );
  }

  /** Resolves when every run and removal has ended (after the daemon's signal fired). */
  async settled(): Promise<void> {
    const pending = [...this.records.values()]
      .flatMap((record) => [record.run, record.removal])
      .filter((p) => p !== undefined);
    await Promise.allSettled(pending);
  }

  private record(probe: KernelProbe): KernelRecord {
    let record = this.records.get(probe.kernel);
    if (!record) {
      record = {
        probe,
        state: 'idle',
        run: undefined,
        removal: undefined,
        dirty: false,
        forced: [],
        retryFailed: false,
        abort: new AbortController(),
        lastOutcome: undefined,
      };
      this.records.set(probe.kernel, record);
    } else if (probe.headers !== undefined) {
      record.probe = probe;
    }
    return record;
  }

  private async after(previous: Promise<unknown>, probe: KernelProbe): Promise<KernelOutcome> {
    await previous.catch(() => undefined);
    const [outcome] = await this.request([probe]);
    if (!outcome) throw new Error(`no outcome for ${probe.kernel}`);
    return outcome;
  }

  private contextFor(probe: KernelProbe, extra: Partial<DkmsContext> = {}): DkmsContext {
    return {
      ...this.options.ctx,
      kernelSourceDir: probe.headersElsewhere ? probe.headers : this.options.ctx.kernelSourceDir,
      reporter: logReporter(this.options.logger.child({ kernel: probe.kernel })),
      // Each planning, finish or removal evaluates confs afresh: a fixed dkms.conf is seen.
      confCache: new Map(),
      ...extra,
    };
  }

  /** Candidates for several kernels; one conf evaluation per headers location (usually one). */
  private async gather(records: readonly KernelRecord[]): Promise<Map<string, KernelCandidates>> {
    const groups = new Map<string, KernelRecord[]>();
    for (const record of records) {
      const key = record.probe.headersElsewhere ? (record.probe.headers ?? '') : '';
      groups.set(key, [...(groups.get(key) ?? []), record]);
    }
    const result = new Map<string, KernelCandidates>();
    for (const group of groups.values()) {
      const first = group[0];
      if (!first) continue;
      const gathered = await gatherCandidatesForKernels(
        this.contextFor(first.probe),
        group.map((record) => ({ kernel: record.probe.kernel, arch: this.options.arch })),
      );
      for (const entry of gathered) result.set(entry.kernel, entry);
    }
    return result;
  }

  private async runKernel(
    record: KernelRecord,
    firstGather: Promise<Map<string, KernelCandidates>>,
  ): Promise<KernelOutcome> {
    const { kernel } = record.probe;
    const { arch, logger } = this.options;
    record.abort = new AbortController();
    const signal = AbortSignal.any([this.options.signal, record.abort.signal]);
    const collector = new OutcomeCollector(kernel, arch);
    let outcome: KernelOutcome;
    try {
      let gather = firstGather;
      while (record.probe.headers !== undefined) {
        record.dirty = false;
        const gathered = (await gather).get(kernel);
        const forced = record.forced.splice(0);
        const retry = record.retryFailed;
        record.retryFailed = false;
        const plan = planAutoinstall(forceModules(gathered?.candidates ?? [], forced));
        collector.addPlan(plan, gathered?.broken ?? []);
        const { jobs, remembered, settled } = this.gate.partition(record.probe, plan.jobs, {
          retry,
          forced,
        });
        for (const failure of remembered) collector.addRemembered(failure);
        if (jobs.length > 0)
          logger.info(
            { kernel, jobs: jobs.map((job) => `${job.module}/${job.version}`) },
            'planned builds',
          );
        record.state = 'building';
        const results = await Promise.all(
          enqueuePlan(this.options.queue, jobs, {
            kernel,
            arch,
            priority: kernel === this.options.runningKernel ? 1 : 0,
            signal,
            settled,
            estimate: jobEstimator(this.options.durations, (job) =>
              this.options.ctx.tree.sourceLink(job),
            ),
            ...(record.probe.headersElsewhere && record.probe.headers
              ? { kernelSourceDir: record.probe.headers }
              : {}),
          }),
        );
        results.forEach((result, i) => {
          collector.addResult(result);
          const job = jobs[i];
          if (job) this.gate.record(record.probe, job, result);
        });
        if (!record.dirty || signal.aborted) break;
        record.state = 'planning';
        gather = this.gather([record]);
      }
      record.state = 'finishing';
      const finish = await finishKernel(
        this.contextFor(record.probe),
        { kernel, arch },
        this.options,
        {
          // stopping, or the kernel is being removed: depmod only, the rest stays owed
          stopping: () => signal.aborted,
          ...(this.options.finishSignal ? { signal: this.options.finishSignal } : {}),
        },
      );
      logger.info({ kernel, ...finish }, 'kernel finish steps');
      outcome = collector.outcome(finish, signal.aborted);
    } catch (error) {
      logger.error({ kernel, err: error }, 'kernel run failed');
      const message = isDkmsError(error) ? error.message : String(error);
      const none = { status: 'not-needed' as const };
      outcome = collector.outcome(
        { depmod: none, initramfs: none, udev: none },
        signal.aborted,
        message,
      );
    }
    if (!record.removal) record.state = 'idle';
    record.lastOutcome = outcome;
    this.emit('kernel-finished', outcome);
    return outcome;
  }

  private async runRemoval(record: KernelRecord): Promise<RemovalOutcome> {
    const { kernel } = record.probe;
    record.state = 'removing';
    await record.run?.catch(() => undefined);
    record.state = 'removing';
    const { outcome, output } = await removeKernelModules(
      this.contextFor(record.probe, { signal: this.options.signal }),
      kernel,
      this.options.arch,
    );
    this.gate.forgetKernel(kernel);
    this.options.logger.info({ ...outcome, output: output || undefined }, 'kernel removed');
    this.emit('kernel-removed', outcome);
    return outcome;
  }
}
