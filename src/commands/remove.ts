import type { DkmsArgs } from './args.js';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { planRemoval, runRemoval, type RemovalMode } from '../engine/remove.js';
import { withModuleSession } from '../engine/recovery.js';
import {
  kernelArches,
  moduleVersionArgs,
  refuseBroken,
  requireRootForSystemTree,
} from './common.js';
import { recoveryLines, removalPreviewLines } from './dryRun.js';
import { runPostTransaction } from '../engine/postTransaction.js';
import type { Command, CommandResult } from './types.js';
import { depmodAll } from '../engine/depmod.js';

async function run(ctx: DkmsContext, args: DkmsArgs, mode: RemovalMode): Promise<CommandResult> {
  if (mode === 'uninstall' && !args.dryRun) requireRootForSystemTree(ctx);
  const ref = moduleVersionArgs(ctx, args, mode);
  await refuseBroken(ctx, ref);
  if (!ctx.tree.isAdded(ref) && !ctx.tree.isBroken(ref)) {
    throw new DkmsError(
      'NOT_ADDED',
      `The module/version combo: ${ref.module}/${ref.version} is not located in the DKMS tree.`,
    );
  }
  // `dkms remove m/v` with no kernel named means every kernel, as packages' prerm scripts expect.
  if (mode === 'remove' && args.kernels.length === 0 && args.arches.length === 0) args.all = true;
  const targets = kernelArches(ctx, args, ref, mode);
  if (args.dryRun) {
    const steps = await planRemoval(ctx, ref, targets, mode);
    return {
      exitCode: 0,
      output: [...recoveryLines(ctx, ref.module), ...removalPreviewLines(mode, ref, steps)],
    };
  }
  await withModuleSession(ctx, ref.module, async () => {
    // Planned under the lock, after recovery: from the tree as it now is.
    const now = kernelArches(ctx, args, ref, mode);
    await runRemoval(ctx, ref, mode, await planRemoval(ctx, ref, now, mode));
    // A depmod an earlier command still owes these kernels (killed, or its depmod failed).
    for (const failure of (await depmodAll(ctx, now)).values()) ctx.reporter.warn(failure.message);
  });
  await runPostTransaction(ctx, targets[0]?.kernel);
  return { exitCode: 0 };
}

export const uninstall: Command = (ctx, args) => run(ctx, args, 'uninstall');
export const unbuild: Command = (ctx, args) => run(ctx, args, 'unbuild');
export const remove: Command = (ctx, args) => run(ctx, args, 'remove');
