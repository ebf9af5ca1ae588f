import type { JobResult } from '../../engine/autoinstall.js';
import type { AutoinstallPlan } from '../../engine/autoinstallPlan.js';
import type { FailedModule, FinishStepResult, KernelOutcome } from '../../protocol/messages.js';
import type { ModuleVersionRef } from '../../core/stateTree.js';
import type { FailureRecord } from '../failures/failureMemory.js';

type Entry =
  | { kind: 'installed' | 'already'; ref: ModuleVersionRef }
  | { kind: 'skipped'; ref: ModuleVersionRef; reason: string }
  | { kind: 'failed'; failure: FailedModule };

const refOf = (ref: ModuleVersionRef): ModuleVersionRef => ({
  module: ref.module,
  version: ref.version,
});

/**
 * Gathers what happened to each module of one kernel over a run (a run may plan more than
 * once when new requests arrive), then says how the kernel ended.
 */
export class OutcomeCollector {
  private readonly entries = new Map<string, Entry>();
  private broken: ModuleVersionRef[] = [];

  constructor(
    readonly kernel: string,
    readonly arch: string,
    private readonly startedAt: Date = new Date(),
  ) {}

  private set(module: string, entry: Entry): void {
    // A module installed earlier in the run stays installed when a later plan finds it there.
    if (entry.kind === 'already' && this.entries.get(module)?.kind === 'installed') return;
    this.entries.set(module, entry);
  }

  addPlan(plan: AutoinstallPlan, broken: readonly ModuleVersionRef[]): void {
    this.broken = broken.map(refOf);
    for (const ref of plan.alreadyInstalled)
      this.set(ref.module, { kind: 'already', ref: refOf(ref) });
    for (const skip of plan.skipped)
      this.set(skip.module, { kind: 'skipped', ref: refOf(skip), reason: skip.reason });
    for (const invalid of plan.invalid) {
      this.set(invalid.module, {
        kind: 'failed',
        failure: {
          ...refOf(invalid),
          code: 'CONF_INVALID',
          message: invalid.reason,
          remembered: false,
        },
      });
    }
    // dkms 3.4.3: waiting on a dependency DKMS does not know yet is deferred, not a failure
    for (const waiting of plan.deferred) {
      const reason = `${waiting.module}/${waiting.version} autoinstall deferred: BUILD_DEPENDS not registered with DKMS: ${waiting.missing.join(' ')}.`;
      this.set(waiting.module, { kind: 'skipped', ref: refOf(waiting), reason });
    }
    for (const waiting of plan.unsatisfied) {
      const message = `${waiting.module}/${waiting.version} autoinstall failed due to missing dependencies: ${waiting.missing.join(' ')}.`;
      this.set(waiting.module, {
        kind: 'failed',
        failure: { ...refOf(waiting), code: 'BUILD_DEPENDS_MISSING', message, remembered: false },
      });
    }
  }

  addResult(result: JobResult): void {
    const ref = refOf(result.ref);
    if (result.status === 'installed') this.set(ref.module, { kind: 'installed', ref });
    else if (result.status === 'already-installed') this.set(ref.module, { kind: 'already', ref });
    else if (result.status === 'skipped')
      this.set(ref.module, { kind: 'skipped', ref, reason: result.reason });
    else if (result.status === 'failed') {
      const failure: FailedModule = {
        ...ref,
        code: result.error.code,
        message: result.error.message,
        remembered: false,
      };
      if (result.error.logPath) failure.logPath = result.error.logPath;
      this.set(ref.module, { kind: 'failed', failure });
    }
  }

  addRemembered(record: FailureRecord): void {
    // Failed earlier in this same run: that is the news, not that it was remembered.
    if (this.entries.get(record.module)?.kind === 'failed') return;
    const failure: FailedModule = {
      module: record.module,
      version: record.version,
      code: record.code,
      message: record.message,
      remembered: true,
    };
    if (record.logPath) failure.logPath = record.logPath;
    this.set(record.module, { kind: 'failed', failure });
  }

  outcome(
    finish: { depmod: FinishStepResult; initramfs: FinishStepResult; udev: FinishStepResult },
    aborted: boolean,
    error?: string,
  ): KernelOutcome {
    const entries = [...this.entries.values()];
    const refs = (kind: 'installed' | 'already'): ModuleVersionRef[] =>
      entries.flatMap((entry) => (entry.kind === kind ? [entry.ref] : []));
    const failed = entries.flatMap((entry) => (entry.kind === 'failed' ? [entry.failure] : []));
    const stepFailed = [finish.depmod, finish.initramfs, finish.udev].some(
      (step) => step.status === 'failed',
    );
    return {
      kernel: this.kernel,
      arch: this.arch,
      result: aborted ? 'aborted' : error || failed.length > 0 || stepFailed ? 'failed' : 'ok',
      installed: refs('installed'),
      alreadyInstalled: refs('already'),
      skipped: entries.flatMap((entry) =>
        entry.kind === 'skipped' ? [{ ...entry.ref, reason: entry.reason }] : [],
      ),
      failed,
      broken: this.broken,
      ...finish,
      ...(error ? { error } : {}),
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    };
  }
}
