import type { FinishStepResult } from '../../protocol/messages.js';

export interface FinishInput {
  /** Modules installed for the kernel in this run. */
  installed: number;
  isRunningKernel: boolean;
  /** The initramfs command for this kernel: argv, or why there is none. */
  initramfs: string[] | 'disabled' | 'unavailable';
  udev: string[] | 'disabled';
}

export type FinishAction =
  { kind: 'depmod' } | { kind: 'initramfs'; argv: string[] } | { kind: 'udev'; argv: string[] };

/** Each step either runs (`action`) or is decided already (`result`). */
export type PlannedStep = { action: FinishAction } | { result: FinishStepResult };

export interface FinishPlan {
  depmod: PlannedStep;
  initramfs: PlannedStep;
  udev: PlannedStep;
}

const notNeeded: PlannedStep = { result: { status: 'not-needed' } };

/**
 * What to do when a kernel's last job has ended: depmod once and the initramfs once when a
 * module was installed; udev once when it was installed for the running kernel.
 */
export function planKernelFinish(input: FinishInput): FinishPlan {
  if (input.installed === 0) return { depmod: notNeeded, initramfs: notNeeded, udev: notNeeded };
  const initramfs: PlannedStep =
    input.initramfs === 'disabled'
      ? { result: { status: 'disabled' } }
      : input.initramfs === 'unavailable'
        ? { result: { status: 'not-needed', message: 'no initramfs tool for this kernel' } }
        : { action: { kind: 'initramfs', argv: input.initramfs } };
  const udev: PlannedStep = !input.isRunningKernel
    ? notNeeded
    : input.udev === 'disabled'
      ? { result: { status: 'disabled' } }
      : { action: { kind: 'udev', argv: input.udev } };
  return { depmod: { action: { kind: 'depmod' } }, initramfs, udev };
}
