import { buildModule } from '../engine/build.js';
import { isDkmsError } from '../core/errors.js';
import {
  moduleVersionArgs,
  kernelArches,
  refFor,
  refuseBroken,
  takeSourceTreeArg,
} from './common.js';
import { withModuleSession } from '../engine/recovery.js';
import type { Command } from './types.js';

export const build: Command = async (ctx, args) => {
  await takeSourceTreeArg(ctx, args);
  const ref = moduleVersionArgs(ctx, args, 'build');
  await refuseBroken(ctx, ref);
  const targets = kernelArches(ctx, args, ref, 'build');
  await withModuleSession(ctx, ref.module, async () => {
    for (const target of targets) {
      await buildModule(ctx, refFor(ref, target), { force: args.force });
    }
  });
  return { exitCode: 0 };
};

export { isDkmsError };
