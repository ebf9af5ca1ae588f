import type { DkmsContext } from '../../core/context.js';
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

/**
 * A kernel's last job has ended: plan and run depmod / initramfs / udev. When dkmsd is
 * stopping, depmod still runs (modules.dep must match what is installed), the rest waits.
 */
export async function finishKernel(
  ctx: DkmsContext,
  kernel: string,
  installed: number,
  settings: FinishSettings,
  stopping: boolean,
): Promise<FinishResults> {
  const { initramfs, udev } = settings;
  const plan = planKernelFinish({
    installed,
    isRunningKernel: kernel === settings.runningKernel,
    initramfs: initramfs ? (initramfs.argv(kernel) ?? 'unavailable') : 'disabled',
    udev: udev?.argv(kernel) ?? 'disabled',
  });
  if (stopping) {
    const later = { result: { status: 'not-needed' as const, message: 'dkmsd was stopping' } };
    plan.initramfs = later;
    plan.udev = later;
  }
  if ('result' in plan.depmod && 'result' in plan.initramfs && 'result' in plan.udev) {
    return { depmod: plan.depmod.result, initramfs: plan.initramfs.result, udev: plan.udev.result };
  }
  // Loaded only when something runs: depmod and execa are not needed for a no-op.
  const { runKernelFinish } = await import('./runFinish.js');
  return runKernelFinish(stopping ? { ...ctx, signal: undefined } : ctx, kernel, plan);
}
