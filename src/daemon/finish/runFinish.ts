import { execa } from 'execa';
import { isDkmsError } from '../../core/errors.js';
import type { DkmsContext } from '../../core/context.js';
import { runDepmod } from '../../engine/depmod.js';
import { buildEnv } from '../../core/exec.js';
import type { FinishStepResult } from '../../protocol/messages.js';
import type { FinishAction, FinishPlan, PlannedStep } from './finishPlan.js';

/** An initramfs rebuild that takes longer than this is stuck. */
const COMMAND_TIMEOUT_MS = 30 * 60 * 1000;

const tail = (text: string): string => text.trim().split('\n').slice(-5).join('\n');

async function runAction(
  ctx: DkmsContext,
  kernel: string,
  action: FinishAction,
): Promise<FinishStepResult> {
  if (action.kind === 'depmod') {
    try {
      await runDepmod(ctx, kernel);
      return { status: 'ran', command: 'depmod' };
    } catch (error) {
      return {
        status: 'failed',
        command: 'depmod',
        message: isDkmsError(error) ? error.message : String(error),
      };
    }
  }
  const [file = '', ...args] = action.argv;
  const command = action.argv.join(' ');
  const result = await execa(file, args, {
    // kernel-install runs our own plugin (40-dkms.install), which would wait for this very run.
    env: { ...buildEnv(), DKMSD_FINISHING: kernel },
    extendEnv: false,
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: COMMAND_TIMEOUT_MS,
    ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
  });
  if (result.failed) {
    const why = result.timedOut
      ? 'timed out'
      : result.isCanceled
        ? 'was cancelled'
        : result.exitCode === undefined
          ? `failed: ${result.shortMessage}`
          : `exited with status ${result.exitCode}`;
    return {
      status: 'failed',
      command,
      message: `${command} ${why}${result.all ? `: ${tail(String(result.all))}` : ''}`,
    };
  }
  return { status: 'ran', command };
}

const runStep = (ctx: DkmsContext, kernel: string, step: PlannedStep): Promise<FinishStepResult> =>
  'action' in step ? runAction(ctx, kernel, step.action) : Promise.resolve(step.result);

/** Runs a kernel's finish plan in order: depmod, initramfs, udev. */
export async function runKernelFinish(
  ctx: DkmsContext,
  kernel: string,
  plan: FinishPlan,
): Promise<{ depmod: FinishStepResult; initramfs: FinishStepResult; udev: FinishStepResult }> {
  const depmod = await runStep(ctx, kernel, plan.depmod);
  const initramfs = await runStep(ctx, kernel, plan.initramfs);
  const udev = await runStep(ctx, kernel, plan.udev);
  return { depmod, initramfs, udev };
}
