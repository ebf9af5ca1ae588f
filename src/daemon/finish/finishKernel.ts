import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsContext } from '../../core/context.js';
import { owedSteps, type KernelArch } from '../../core/finishLedger.js';
import type { FinishStepResult } from '../../protocol/messages.js';
import type { FinishCommand } from './finishCommands.js';
import { planKernelFinish } from './finishPlan.js';

export interface FinishSettings {
  runningKernel: string;
  initramfs: FinishCommand | undefined;
  udev: FinishCommand | undefined;
}

export type FinishResults = {
  depmod: FinishStepResult;
  initramfs: FinishStepResult;
  udev: FinishStepResult;
};

/** Rounds when the kernel changes again while it is being finished (a dkms command meanwhile). */
const MAX_ROUNDS = 3;

const notNeeded: FinishStepResult = { status: 'not-needed' };

/** A later round's result says more than an earlier one, unless it did nothing. */
const merge = (before: FinishStepResult, after: FinishStepResult): FinishStepResult =>
  after.status === 'not-needed' && !after.message ? before : after;

/**
 * A kernel's run has ended: pays what the finish ledger says it is owed (depmod, initramfs,
 * udev for the running kernel), whoever installed or removed its modules. While dkmsd stops
 * (`stopping`) depmod still runs and the rest stays owed; `signal` cuts a running command short
 * when the stop timeout passes.
 */
export async function finishKernel(
  ctx: DkmsContext,
  target: KernelArch,
  settings: FinishSettings,
  options: { stopping: () => boolean; signal?: AbortSignal },
): Promise<FinishResults> {
  const { initramfs, udev } = settings;
  const { kernel } = target;
  let results: FinishResults = { depmod: notNeeded, initramfs: notNeeded, udev: notNeeded };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const owed = owedSteps(ctx.paths.dkmsTree, target);
    if (owed.length === 0) break;
    const stopping = options.stopping();
    const plan = planKernelFinish({
      owed,
      kernelGone: !existsSync(join(ctx.paths.installTree, kernel)),
      isRunningKernel: kernel === settings.runningKernel,
      initramfs: initramfs ? (initramfs.argv(kernel) ?? 'unavailable') : 'disabled',
      udev: udev?.argv(kernel) ?? 'disabled',
      stopping,
    });
    // Loaded only when something is owed: depmod and execa are not needed for a no-op.
    const { runKernelFinish } = await import('./runFinish.js');
    const ran = await runKernelFinish(ctx, target, plan, options.signal);
    results = {
      depmod: merge(results.depmod, ran.depmod),
      initramfs: merge(results.initramfs, ran.initramfs),
      udev: merge(results.udev, ran.udev),
    };
    const failed = Object.values(ran).some((r) => r.status === 'failed' || r.status === 'owed');
    if (failed || stopping) break;
  }
  return results;
}
