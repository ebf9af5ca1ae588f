import { loadConfs } from '../conf/loadConf.js';
import { DkmsError, isDkmsError } from '../core/errors.js';
import { lockModule } from '../core/lock.js';
import type { BuildRef } from '../core/stateTree.js';
import { resignBuild, selectInstalledBuilds } from '../engine/resign.js';
import { requireRootForSystemTree } from './common.js';
import type { Command } from './types.js';

const describe = (ref: BuildRef): string =>
  `${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch})`;

/**
 * dkms sign [--all | -m MODULE [-v VERSION]] [-k KERNEL]...: re-signs installed modules with
 * the key framework.conf names now (after a MOK change). Exit 1 when any could not be signed.
 */
export const sign: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  if (args.all === Boolean(args.module))
    throw new DkmsError(
      'MISSING_ARGS',
      args.all
        ? 'Name a module or --all, not both.'
        : 'Name the modules to sign: dkms sign --all, or dkms sign -m <module> [-v <module-version>].',
    );
  const builds = selectInstalledBuilds(ctx.tree, {
    module: args.module,
    version: args.moduleVersion,
    kernels: args.kernels,
  });
  if (builds.length === 0) {
    throw new DkmsError(
      'NOT_BUILT',
      `No installed module matches ${args.module ? `${args.module}${args.moduleVersion ? `/${args.moduleVersion}` : ''}` : '--all'}${args.kernels.length ? ` for ${args.kernels.join(', ')}` : ''}: nothing to sign.`,
    );
  }
  let failed = 0;
  let signed = 0;
  for (const module of [...new Set(builds.map((b) => b.module))]) {
    await lockModule(ctx, module, async () => {
      const mine = builds.filter((b) => b.module === module);
      const confs = await loadConfs(ctx, mine);
      for (const [i, ref] of mine.entries()) {
        const conf = confs[i];
        try {
          if (!conf?.ok) throw conf?.error ?? new DkmsError('CONF_INVALID', 'no dkms.conf');
          const outcome = await resignBuild(ctx, ref, conf.conf);
          if (outcome.status === 'signed') {
            signed++;
            ctx.reporter.info(`Re-signed ${describe(ref)}: ${outcome.files.join(' ')}`);
          }
        } catch (error) {
          failed++;
          ctx.reporter.error(
            `Could not re-sign ${describe(ref)}: ${isDkmsError(error) ? error.message : String(error)}`,
          );
        }
      }
    });
  }
  if (signed > 0)
    ctx.reporter.info(
      'A kernel whose initramfs holds any of these modules needs it regenerated (update-initramfs -u -k KERNEL, or dracut -f --kver KERNEL); dkms doctor names them.',
    );
  return { exitCode: failed > 0 ? 1 : 0 };
};
