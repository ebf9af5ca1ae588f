import { addModule } from '../engine/add.js';
import { loadTarball } from '../packaging/loadTarball.js';
import { moduleVersionArgs, kernelArches, takeSourceTreeArg } from './common.js';
import { withModuleSession } from '../engine/recovery.js';
import type { Command } from './types.js';

export const add: Command = async (ctx, args) => {
  // Every name is checked before the first file is copied.
  kernelArches(ctx, args, undefined, 'add');
  if (args.archive && !args.module) {
    const ref = await loadTarball(ctx, args.archive, { force: args.force });
    if (!ref) return { exitCode: 0 };
    args.module = ref.module;
    args.moduleVersion = ref.version;
  } else {
    await takeSourceTreeArg(ctx, args);
  }
  const ref = moduleVersionArgs(ctx, args, 'add');
  const [first] = kernelArches(ctx, args, ref, 'add');
  await withModuleSession(ctx, ref.module, () => addModule(ctx, ref, first ?? {}));
  return { exitCode: 0 };
};
