import { DkmsError } from '../core/errors.js';
import { installModule } from '../engine/install.js';
import { computeStatus } from './status.js';
import { checkKernelRelease, kernelArches, requireRootForSystemTree } from './common.js';
import { withModuleSession } from '../engine/recovery.js';
import { depmodAll } from '../engine/depmod.js';
import type { Command } from './types.js';

/** dkms match: install on -k what is installed on --templatekernel. */
export const match: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  if (!args.templateKernel) {
    throw new DkmsError(
      'USAGE',
      'Invalid number of parameters passed.\nUsage: match --templatekernel=<kernel-version> -k <kernel-version>\n   or: match --templatekernel=<kernel-version> -k <kernel-version> <module>',
    );
  }
  checkKernelRelease(args.templateKernel);
  const [target] = kernelArches(ctx, args, undefined, 'match');
  if (!target) throw new DkmsError('USAGE', 'match needs -k KERNEL.');
  if (args.templateKernel === target.kernel) {
    throw new DkmsError(
      'USAGE',
      'The templatekernel and the specified kernel version are the same.',
      { exitCode: 2 },
    );
  }
  if (args.module && ctx.tree.versions(args.module).length === 0) {
    throw new DkmsError('NOT_ADDED', `The module: ${args.module} is not located in the DKMS tree.`);
  }
  const installed = (
    await computeStatus(ctx, {
      module: args.module,
      kernel: args.templateKernel,
      arch: target.arch,
    })
  ).filter((e) => e.state === 'installed');
  ctx.reporter.info(
    `\nMatching modules in kernel: ${target.kernel} (${target.arch})\nto the configuration of kernel: ${args.templateKernel} (${target.arch})`,
  );
  if (installed.length === 0) {
    ctx.reporter.info('\nThere is nothing to be done for this match.');
    return { exitCode: 0 };
  }
  for (const entry of installed) {
    ctx.reporter.info(`Module:  ${entry.module}\nVersion: ${entry.version}`);
    await withModuleSession(ctx, entry.module, () =>
      installModule(
        ctx,
        { module: entry.module, version: entry.version, ...target },
        { depmod: true },
      ),
    );
  }
  await depmodAll(ctx, [target]);
  return { exitCode: 0 };
};
