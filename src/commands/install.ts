import { installModule, type InstallOptions } from '../engine/install.js';
import { withModuleSession } from '../engine/recovery.js';
import { rebuildUpdatedDependents } from '../engine/rebuildAfterInstall.js';
import {
  kernelArches,
  moduleVersionArgs,
  refFor,
  refuseBroken,
  requireRootForSystemTree,
  takeSourceTreeArg,
} from './common.js';
import { installPreviewLines, recoveryLines } from './dryRun.js';
import { runPostTransaction } from '../engine/postTransaction.js';
import { depmodAll } from '../engine/depmod.js';
import type { Command } from './types.js';

/** dkms install: per kernel, build when needed, then a journaled plan ending with depmod. */
export const install: Command = async (ctx, args) => {
  if (!args.dryRun) requireRootForSystemTree(ctx);
  if (args.dryRun && args.sourceTreeArg && !args.module)
    return {
      exitCode: 0,
      output: [
        `install from ${args.sourceTreeArg}:`,
        `  add ${args.sourceTreeArg} to the source tree, build, then install`,
      ],
    };
  await takeSourceTreeArg(ctx, args);
  const ref = moduleVersionArgs(ctx, args, 'install');
  await refuseBroken(ctx, ref);
  const targets = kernelArches(ctx, args, ref, 'install');
  const options: InstallOptions = {
    force: args.force,
    forceVersionOverride: args.forceVersionOverride,
    depmod: true,
  };
  if (args.dryRun) {
    const output = recoveryLines(ctx, ref.module);
    for (const target of targets)
      output.push(...(await installPreviewLines(ctx, refFor(ref, target), options)));
    return { exitCode: 0, output };
  }
  await withModuleSession(ctx, ref.module, async () => {
    for (const target of targets) await installModule(ctx, refFor(ref, target), options);
    // A depmod an earlier command still owes these kernels (killed, or its depmod failed).
    for (const failure of (await depmodAll(ctx, targets)).values())
      ctx.reporter.warn(failure.message);
  });
  for (const target of targets)
    await rebuildUpdatedDependents(ctx, target.kernel, target.arch, {
      force: args.force,
      depmod: true,
    });
  await runPostTransaction(ctx, targets[0]?.kernel);
  return { exitCode: 0 };
};
