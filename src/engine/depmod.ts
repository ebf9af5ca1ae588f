import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError, isDkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';

/**
 * depmod for one kernel, as dkms runs it (-F System.map when /boot has one). depmod only
 * knows `<base>/lib/modules`, so an install tree elsewhere is reached through a temporary
 * `<tmp>/lib/modules` link.
 */
export async function runDepmod(ctx: DkmsContext, kernel: string): Promise<void> {
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
    if (result.exitCode !== 0) {
      throw new DkmsError(
        'DEPMOD_FAILED',
        `depmod ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`,
      );
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** One depmod per kernel touched, after all modules; a failure is reported per kernel. */
export async function depmodAll(
  ctx: DkmsContext,
  kernels: Iterable<string>,
): Promise<Map<string, DkmsError>> {
  const failures = new Map<string, DkmsError>();
  if (!ctx.depmod) return failures;
  for (const kernel of new Set(kernels)) {
    ctx.reporter.info(`Running depmod for ${kernel}...`);
    try {
      await runDepmod(ctx, kernel);
    } catch (error) {
      failures.set(
        kernel,
        isDkmsError(error) ? error : new DkmsError('DEPMOD_FAILED', String(error)),
      );
    }
  }
  return failures;
}
