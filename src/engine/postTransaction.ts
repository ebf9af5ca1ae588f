import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsContext } from '../core/context.js';
import { buildEnv } from '../core/exec.js';
import { readFrameworkConf } from '../core/framework.js';
import { invokeCommand } from './invoke.js';

/**
 * framework.conf's post_transaction, run as dkms 3.4.3 runs it after a successful install,
 * uninstall, unbuild or remove: re-read with `$kernelver` set to the first kernel, output in
 * `<dkms_tree>/post_transaction.log` (emptied first) in make.log's block format, and
 * `Executing post-transaction command... done.` on stdout. Returns its exit status.
 */
export async function runPostTransaction(
  ctx: DkmsContext,
  kernel: string | undefined,
): Promise<number | undefined> {
  if (!ctx.framework.post_transaction) return undefined;
  const log = join(ctx.paths.dkmsTree, 'post_transaction.log');
  writeFileSync(log, '');
  const framework = await readFrameworkConf(ctx.paths.confDir, kernel, (text) =>
    ctx.reporter.error(text.replace(/\n$/, '')),
  );
  const command = framework.post_transaction ?? '';
  return invokeCommand(ctx, command, 'Executing post-transaction command', {
    cwd: process.cwd(),
    env: buildEnv(),
    logFile: log,
  });
}
