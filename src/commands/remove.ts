import type { DkmsArgs } from './args.js';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { removeVersionIfUnused, unbuildOne, uninstallOne } from '../engine/remove.js';
import { kernelArches, moduleVersionArgs, refFor, requireRootForSystemTree } from './common.js';
import { lockModule } from '../core/lock.js';
import { depmodAll } from '../engine/depmod.js';
import type { Command, CommandResult } from './types.js';

type Mode = 'uninstall' | 'unbuild' | 'remove';

async function run(ctx: DkmsContext, args: DkmsArgs, mode: Mode): Promise<CommandResult> {
  if (mode === 'uninstall') requireRootForSystemTree(ctx);
  const ref = moduleVersionArgs(ctx, args, mode);
  if (!ctx.tree.isAdded(ref) && !ctx.tree.isBroken(ref)) {
    throw new DkmsError(
      'NOT_ADDED',
      `The module/version combo: ${ref.module}/${ref.version} is not located in the DKMS tree.`,
    );
  }
  // `dkms remove m/v` with no kernel named means every kernel, as packages' prerm scripts expect.
  if (mode === 'remove' && args.kernels.length === 0 && args.arches.length === 0) args.all = true;
  const targets = kernelArches(ctx, args, ref, mode);
  await lockModule(ctx, ref.module, async () => {
    const touched: string[] = [];
    for (const target of targets) {
      const build = refFor(ref, target);
      const changed =
        mode === 'uninstall' ? await uninstallOne(ctx, build) : await unbuildOne(ctx, build);
      if (changed) touched.push(target.kernel);
    }
    const failures = await depmodAll(ctx, touched);
    for (const failure of failures.values()) ctx.reporter.warn(failure.message);
    if (mode === 'remove') removeVersionIfUnused(ctx, ref);
  });
  return { exitCode: 0 };
}

export const uninstall: Command = (ctx, args) => run(ctx, args, 'uninstall');
export const unbuild: Command = (ctx, args) => run(ctx, args, 'unbuild');
export const remove: Command = (ctx, args) => run(ctx, args, 'remove');
