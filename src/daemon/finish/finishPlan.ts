import type { FinishStep } from '../../core/finishLedger.js';
import type { FinishStepResult } from '../../protocol/messages.js';

export interface FinishInput {
  /** What the finish ledger says the kernel is owed (whoever changed its modules). */
  owed: readonly FinishStep[];
  /** Its install tree directory is gone: nothing can run for it, nothing stays owed. */
  kernelGone: boolean;
  isRunningKernel: boolean;
  /** The initramfs command for this kernel: argv, or why there is none. */
  initramfs: string[] | 'disabled' | 'unavailable';
  udev: string[] | 'disabled';
  /** dkmsd is stopping: depmod still runs, the rest stays owed for the next start. */
  stopping: boolean;
}

export type FinishAction =
  { kind: 'depmod' } | { kind: 'initramfs'; argv: string[] } | { kind: 'udev'; argv: string[] };

/**
 * Each step either runs (`action`) or is decided already (`result`); `drop` clears an owed
 * step that will never run (disabled, no tool, not the running kernel, the kernel is gone).
 */
export type PlannedStep = { action: FinishAction } | { result: FinishStepResult; drop?: true };

export interface FinishPlan {
  depmod: PlannedStep;
  initramfs: PlannedStep;
  udev: PlannedStep;
}

const notNeeded: PlannedStep = { result: { status: 'not-needed' } };
const dropped = (result: FinishStepResult): PlannedStep => ({ result, drop: true });

/**
 * What to do for a kernel whose run has ended: each step the ledger says is owed, once —
 * depmod, the initramfs, and udev when it is the running kernel. Pure.
 */
export function planKernelFinish(input: FinishInput): FinishPlan {
  const owes = (step: FinishStep): boolean => input.owed.includes(step);
  if (input.kernelGone) {
    const gone = (step: FinishStep): PlannedStep =>
      owes(step) ? dropped({ status: 'not-needed', message: 'the kernel is gone' }) : notNeeded;
    return { depmod: gone('depmod'), initramfs: gone('initramfs'), udev: gone('udev') };
  }
  const later: PlannedStep = {
    result: { status: 'owed', message: 'dkmsd is stopping; it runs at the next start' },
  };
  const initramfs: PlannedStep = !owes('initramfs')
    ? notNeeded
    : input.initramfs === 'disabled'
      ? dropped({ status: 'disabled' })
      : input.initramfs === 'unavailable'
        ? dropped({ status: 'not-needed', message: 'no initramfs tool for this kernel' })
        : input.stopping
          ? later
          : { action: { kind: 'initramfs', argv: input.initramfs } };
  const udev: PlannedStep = !owes('udev')
    ? notNeeded
    : !input.isRunningKernel
      ? dropped({ status: 'not-needed' })
      : input.udev === 'disabled'
        ? dropped({ status: 'disabled' })
        : input.stopping
          ? later
          : { action: { kind: 'udev', argv: input.udev } };
  return {
    depmod: owes('depmod') ? { action: { kind: 'depmod' } } : notNeeded,
    initramfs,
    udev,
  };
}
