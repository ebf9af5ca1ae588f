import type { DkmsContext } from '../../core/context.js';
import type { ModuleVersionRef } from '../../core/stateTree.js';
import { forgetReadiness, recordReadiness } from '../../engine/readiness.js';
import type { KernelOutcome } from '../../protocol/messages.js';
import type { ShutdownInhibitor } from '../systemd/inhibitor.js';

/**
 * dkmsd's side of kernel readiness (docs/readiness.md): the record says `building` from the
 * first build for a kernel and what came of it once the kernel is finished; a kernel other
 * than the running one holds off shutdown and sleep in between. Writes for one kernel happen
 * in order.
 */
export class ReadinessRecorder {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: DkmsContext,
    private readonly runningKernel: string,
    private readonly inhibitor: ShutdownInhibitor,
  ) {}

  private then(kernel: string, step: () => Promise<unknown>): Promise<void> {
    const next = (this.chains.get(kernel) ?? Promise.resolve()).then(step, step);
    this.chains.set(kernel, next);
    return next.then(() => undefined);
  }

  /** A build for the kernel started; `pending` is everything still to build for it. */
  building(kernel: string, arch: string, pending: readonly ModuleVersionRef[]): Promise<void> {
    if (kernel !== this.runningKernel) this.inhibitor.hold(kernel);
    return this.then(kernel, () =>
      recordReadiness(this.ctx, { kernel, arch, installed: [], failed: [], pending }, 'dkmsd'),
    );
  }

  /** The kernel's modules were removed (the kernel is going): no lock, no record. */
  removed(kernel: string): Promise<void> {
    this.inhibitor.release(kernel);
    return this.then(kernel, () => forgetReadiness(this.ctx, kernel));
  }

  /** The kernel is finished (depmod and the rest done): record the result, free the lock. */
  finished(outcome: KernelOutcome): Promise<void> {
    this.inhibitor.release(outcome.kernel);
    if (outcome.result === 'aborted') return Promise.resolve();
    return this.then(outcome.kernel, () =>
      recordReadiness(
        this.ctx,
        {
          kernel: outcome.kernel,
          arch: outcome.arch,
          installed: [...outcome.installed, ...outcome.alreadyInstalled],
          failed: outcome.failed.map((f) => ({
            module: f.module,
            version: f.version,
            code: f.code,
            ...(f.logPath ? { logPath: f.logPath } : {}),
          })),
        },
        'dkmsd',
      ),
    );
  }
}
