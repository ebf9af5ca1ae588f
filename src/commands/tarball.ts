import { DkmsError } from '../core/errors.js';
import { addModule } from '../engine/add.js';
import { loadTarball } from '../packaging/loadTarball.js';
import { makeTarball } from '../packaging/makeTarball.js';
import { kernelArches, moduleVersionArgs } from './common.js';
import { withModuleSession } from '../engine/recovery.js';
import type { Command } from './types.js';

export const mktarball: Command = async (ctx, args) => {
  const ref = moduleVersionArgs(ctx, args, 'mktarball');
  const targets = args.sourceOnly ? [] : kernelArches(ctx, args, ref, 'mktarball');
  await makeTarball(ctx, ref, {
    targets,
    sourceOnly: args.sourceOnly,
    binariesOnly: args.binariesOnly,
    archive: args.archive,
  });
  return { exitCode: 0 };
};

export const ldtarball: Command = async (ctx, args) => {
  // A path that does not exist is parsed as a module name: report it as the missing tarball.
  const archive =
    args.archive ??
    (args.module === undefined
      ? undefined
      : [args.module, args.moduleVersion].filter((part) => part !== undefined).join('/'));
  if (!archive) {
    throw new DkmsError('MISSING_ARGS', 'Usage: dkms ldtarball /path/to/tarball.dkms.tar.gz');
  }
  if (
    args.force &&
    ctx.paths.dkmsTree.replace(/\/+$/, '') === '/var/lib/dkms' &&
    process.getuid?.() !== 0
  ) {
    throw new DkmsError(
      'NOT_ROOT',
      'You must be root to use this command with the --force option.',
    );
  }
  const ref = await loadTarball(ctx, archive, { force: args.force });
  if (ref && !ctx.tree.isAdded(ref))
    await withModuleSession(ctx, ref.module, () => addModule(ctx, ref));
  return { exitCode: 0 };
};
