import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError, isDkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';
import { runningKernel } from '../kernel/kernels.js';
import { invokeResult } from './invoke.js';
import {
  AFTER_INSTALL,
  AFTER_UNINSTALL,
  FINISH_STEPS,
  dropOwed,
  payDepmod,
  type FinishStep,
  type KernelArch,
  type PayResult,
} from '../core/finishLedger.js';

/** What one depmod run ended with. */
export interface DepmodRun {
  /** depmod's exit status. */
  exitCode: number;
  /** `depmod ARGS` */
  command: string;
  stderr: string;
}

/**
 * depmod for one kernel, as dkms runs it (-F System.map when /boot has one), resolving with
 * its exit status. depmod only knows `<base>/lib/modules`, so an install tree elsewhere is
 * reached through a temporary `<tmp>/lib/modules` link.
 */
export async function depmodKernel(ctx: DkmsContext, kernel: string): Promise<DepmodRun> {
  const installTree = ctx.paths.installTree.replace(/\/+$/, '');
  const args = ['-a'];
  let scratch: string | undefined;
  if (installTree !== '/lib/modules') {
    let base: string;
    if (installTree.endsWith('/lib/modules')) {
      base = installTree.slice(0, -'/lib/modules'.length);
    } else {
      scratch = mkdtempSync(join(ctx.paths.tmpLocation, 'dkms-depmod.'));
      mkdirSync(join(scratch, 'lib'));
      symlinkSync(installTree, join(scratch, 'lib', 'modules'));
      base = scratch;
    }
    args.push('-b', base);
  }
  const systemMap = join(ctx.paths.bootDir, `System.map-${kernel}`);
  if (existsSync(systemMap)) args.push('-F', systemMap);
  args.push(kernel);
  try {
    ctx.reporter.verbose(`depmod ${args.join(' ')}`);
    const result = await runTool('depmod', args);
    return {
      exitCode: result.exitCode,
      command: `depmod ${args.join(' ')}`,
      stderr: result.stderr.trim(),
    };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

const depmodError = (run: DepmodRun): DkmsError =>
  new DkmsError('DEPMOD_FAILED', `${run.command} failed (exit ${run.exitCode}): ${run.stderr}`);

/** depmod for one kernel; a failure is a DEPMOD_FAILED error. */
export async function runDepmod(ctx: DkmsContext, kernel: string): Promise<void> {
  const run = await depmodKernel(ctx, kernel);
  if (run.exitCode !== 0) throw depmodError(run);
}

/**
 * What a change to a kernel's install tree owes it, recorded in the finish ledger before the
 * change starts (the install and uninstall plans' `owe` step). With --no-depmod the caller
 * has taken depmod on (as dkms 3.4, which then leaves no depmod-pending marker either); a
 * udev trigger is owed to the running kernel only.
 */
export function finishOwedBy(
  ctx: DkmsContext,
  kernel: string,
  change: 'install' | 'uninstall',
): FinishStep[] {
  return (change === 'install' ? AFTER_INSTALL : AFTER_UNINSTALL).filter(
    (step) => (step !== 'depmod' || ctx.depmod) && (step !== 'udev' || kernel === runningKernel()),
  );
}

/**
 * depmod for a kernel through the finish ledger: clears what was owed before it ran.
 * `announce`: `Running depmod... done.` once it succeeded.
 */
export async function payKernelDepmod(
  ctx: DkmsContext,
  kernel: string,
  options: { onlyIfOwed?: boolean; announce?: boolean } = {},
): Promise<PayResult> {
  return payDepmod(
    ctx.paths.dkmsTree,
    kernel,
    async () => {
      const started = Date.now();
      await runDepmod(ctx, kernel);
      if (options.announce)
        ctx.reporter.info(invokeResult('Running depmod', `do_depmod ${kernel}`, started, 0));
      return true;
    },
    options,
  );
}

/**
 * dkms's `invoke_command "do_depmod <kver>" "Running depmod"` after an install or uninstall:
 * depmod through the finish ledger, then `Running depmod... done.` (or `...(bad exit status:
 * N)` and the failed command, which dkms names by its own shell function). depmod runs only
 * while the kernel owes one: a depmod that started after this change was marked (another
 * job's) has indexed it already. With --no-depmod only the line is printed, as dkms does.
 */
export async function invokeDepmod(
  ctx: DkmsContext,
  kernel: string,
): Promise<{ line: string; failure?: DkmsError }> {
  const started = Date.now();
  let run: DepmodRun | undefined;
  // dkms's do_depmod skips a kernel whose modules are gone, silently in this mode
  if (ctx.depmod && existsSync(join(ctx.paths.installTree, kernel))) {
    await payDepmod(
      ctx.paths.dkmsTree,
      kernel,
      async () => {
        run = await depmodKernel(ctx, kernel);
        return run.exitCode === 0;
      },
      { onlyIfOwed: true },
    );
  }
  const status = run?.exitCode ?? 0;
  const line = invokeResult('Running depmod', `do_depmod ${kernel}`, started, status);
  return run && status !== 0 ? { line, failure: depmodError(run) } : { line };
}

/**
 * One depmod per kernel that owes one (the finish ledger: an install or uninstall marked it,
 * maybe in a process that was killed before its depmod); a failure is reported per kernel
 * and leaves depmod owed. Pass every kernel the command was about.
 */
export async function depmodAll(
  ctx: DkmsContext,
  targets: Iterable<KernelArch>,
): Promise<Map<string, DkmsError>> {
  const failures = new Map<string, DkmsError>();
  if (!ctx.depmod) return failures;
  const done = new Set<string>();
  for (const target of targets) {
    const { kernel } = target;
    // A kernel whose module directory is gone owes nothing: there is nothing to index.
    if (!existsSync(join(ctx.paths.installTree, kernel))) {
      await dropOwed(ctx.paths.dkmsTree, target, FINISH_STEPS);
      continue;
    }
    if (done.has(kernel)) continue;
    done.add(kernel);
    try {
      await payKernelDepmod(ctx, kernel, { onlyIfOwed: true, announce: true });
    } catch (error) {
      failures.set(
        kernel,
        isDkmsError(error) ? error : new DkmsError('DEPMOD_FAILED', String(error)),
      );
    }
  }
  return failures;
}
