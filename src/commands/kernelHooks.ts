import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { autoinstall } from './autoinstall.js';
import { unbuildForKernel } from '../engine/kernelRemoval.js';
import { forgetReadiness } from '../engine/readiness.js';
import { kernelArches, requireRootForSystemTree } from './common.js';
import type { Command } from './types.js';

function oneKernel(
  ctx: DkmsContext,
  args: Parameters<Command>[1],
  action: string,
): { kernel: string; arch: string } {
  if (args.kernels.length !== 1) {
    throw new DkmsError(
      'USAGE',
      `The action ${action} requires exactly one kernel version parameter on the command line.`,
      { exitCode: 4 },
    );
  }
  const [target] = kernelArches(ctx, args, undefined, action);
  if (!target)
    throw new DkmsError('USAGE', `The action ${action} needs -k KERNEL.`, { exitCode: 4 });
  return target;
}

export const kernelPostinst: Command = (ctx, args) => {
  oneKernel(ctx, args, 'kernel_postinst');
  return autoinstall(ctx, args);
};

export const kernelPreinst: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  const { kernel, arch } = oneKernel(ctx, args, 'kernel_preinst');
  await unbuildForKernel(ctx, kernel, arch, true, 'kernel_preinst');
  await forgetReadiness(ctx, kernel);
  return { exitCode: 0 };
};

export const kernelPrerm: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  const { kernel, arch } = oneKernel(ctx, args, 'kernel_prerm');
  await unbuildForKernel(ctx, kernel, arch, false, 'kernel_prerm');
  await forgetReadiness(ctx, kernel);
  return { exitCode: 0 };
};
