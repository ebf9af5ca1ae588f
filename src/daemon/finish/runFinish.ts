import { isDkmsError } from '../../core/errors.js';
import type { DkmsContext } from '../../core/context.js';
import { runDepmod } from '../../engine/depmod.js';
import { buildEnv, runShell } from '../../core/exec.js';
import { shellQuote } from '../../util/shell.js';
import {
  dropOwed,
  payDepmod,
  payOwed,
  type FinishStep,
  type KernelArch,
} from '../../core/finishLedger.js';
import type { FinishStepResult } from '../../protocol/messages.js';
import type { FinishAction, FinishPlan, PlannedStep } from './finishPlan.js';

/** An initramfs rebuild that takes longer than this is stuck. */
const COMMAND_TIMEOUT_MS = 30 * 60 * 1000;

const tail = (text: string): string => text.trim().split('\n').slice(-5).join('\n');

export type FinishResults = Record<FinishStep, FinishStepResult>;

/**
 * Runs one action; resolves with its result. `signal` cuts a command short (dkmsd stopped
 * and its stop timeout passed); the build abort signal does not reach here.
 */
async function runAction(
  ctx: DkmsContext,
  kernel: string,
  action: FinishAction,
  signal: AbortSignal | undefined,
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
  const command = action.argv.join(' ');
  // Its own process group, killed whole when cut short; never by a signal meant for dkmsd.
  const result = await runShell(`exec ${action.argv.map(shellQuote).join(' ')}`, {
    cwd: '/',
    signal,
    // kernel-install runs our own plugin (40-dkms.install), which would wait for this very run.
    env: buildEnv({ DKMSD_FINISHING: kernel }),
    timeout: COMMAND_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) {
    const why = result.timedOut
      ? 'timed out'
      : result.aborted
        ? 'was cut short (dkmsd stopped)'
        : result.exitCode === undefined
          ? `was killed by ${result.signal ?? 'a signal'}`
          : `exited with status ${result.exitCode}`;
    return {
      status: 'failed',
      command,
      message: `${command} ${why}${result.tail ? `: ${tail(result.tail)}` : ''}`,
    };
  }
  return { status: 'ran', command };
}

/**
 * Runs a kernel's finish plan in order through the finish ledger: an action runs only while
 * its step is still owed and clears it when it succeeded; a failure leaves it owed. After a
 * failed depmod the initramfs and udev wait (they would use the old modules.dep).
 */
export async function runKernelFinish(
  ctx: DkmsContext,
  target: KernelArch,
  plan: FinishPlan,
  signal?: AbortSignal,
): Promise<FinishResults> {
  const tree = ctx.paths.dkmsTree;
  const results = {} as FinishResults;
  let depmodFailed = false;
  for (const step of ['depmod', 'initramfs', 'udev'] as const) {
    const planned: PlannedStep = plan[step];
    if ('result' in planned) {
      if (planned.drop) await dropOwed(tree, target, [step]);
      results[step] = planned.result;
      continue;
    }
    if (depmodFailed) {
      results[step] = { status: 'owed', message: 'waits for a successful depmod' };
      continue;
    }
    let result: FinishStepResult = { status: 'not-needed' };
    const run = async (): Promise<boolean> => {
      result = await runAction(ctx, target.kernel, planned.action, signal);
      return result.status === 'ran';
    };
    // depmod is one per kernel, for every arch's marker, never two at once.
    if (step === 'depmod') await payDepmod(tree, target.kernel, run, { onlyIfOwed: true });
    else await payOwed(tree, target, step, run);
    if (step === 'depmod' && result.status === 'failed') depmodFailed = true;
    results[step] = result;
  }
  return results;
}
