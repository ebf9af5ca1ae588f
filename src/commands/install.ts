import { DkmsError } from '../core/errors.js';
import { installModule } from '../engine/install.js';
import { uninstallOne } from '../engine/remove.js';
import { kernelArches, moduleVersionArgs, refFor, requireRootForSystemTree } from './common.js';
import { lockModule } from '../core/lock.js';
import { depmodAll } from '../engine/depmod.js';
import type { Command } from './types.js';

export const install: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  const ref = moduleVersionArgs(ctx, args, 'install');
  const targets = kernelArches(ctx, args, ref, 'install');
  await lockModule(ctx, ref.module, async () => {
    const installed = [];
    for (const target of targets) {
      const outcome = await installModule(ctx, refFor(ref, target), {
        force: args.force,
        forceVersionOverride: args.forceVersionOverride,
      });
      if (outcome === 'installed') installed.push(target);
    }
    const failures = await depmodAll(
      ctx,
      installed.map((t) => t.kernel),
    );
    for (const [kernel, failure] of failures) {
      for (const target of installed.filter((t) => t.kernel === kernel))
        await uninstallOne(ctx, refFor(ref, target));
      throw new DkmsError(
        'DEPMOD_FAILED',
        `Problems with depmod detected. Automatically uninstalling this module.\nInstall Failed (depmod problems). Module rolled back to built state.\n${failure.message}`,
      );
    }
  });
  return { exitCode: 0 };
};
