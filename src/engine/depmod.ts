import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from './context.js';
import { runTool } from './exec.js';

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
