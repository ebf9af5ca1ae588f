import type { DkmsArgs } from './args.js';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { makeDsc, makeModulesDebs, makeSourceDeb } from '../packaging/deb.js';
import type { KernelArch } from '../packaging/names.js';
import { makeRpm } from '../packaging/rpm.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { kernelArches, moduleVersionArgs } from './common.js';
import type { Command } from './types.js';

/** Source packages carry prebuilt modules only for kernels named with -k / --all. */
function prebuiltKernels(
  ctx: DkmsContext,
  args: DkmsArgs,
  ref: ModuleVersionRef,
  action: string,
): KernelArch[] {
  if (args.sourceOnly || (args.kernels.length === 0 && !args.all)) return [];
  return kernelArches(ctx, args, ref, action);
}

const refuse = (action: string, option: string, instead: string): DkmsError =>
  new DkmsError('USAGE', `dkms ${action} does not take ${option}.`, { hint: instead });

export const mkbmdeb: Command = async (ctx, args) => {
  const ref = moduleVersionArgs(ctx, args, 'mkbmdeb');
  if (args.sourceOnly)
    throw refuse('mkbmdeb', '--source-only', 'It packages built modules only; see mkdeb.');
  await makeModulesDebs(ctx, ref, kernelArches(ctx, args, ref, 'mkbmdeb'));
  return { exitCode: 0 };
};

export const mkdeb: Command = async (ctx, args) => {
  // dkms 2.x: `mkdeb --binaries-only` made the binary-modules package.
  if (args.binariesOnly) return mkbmdeb(ctx, args);
  const ref = moduleVersionArgs(ctx, args, 'mkdeb');
  await makeSourceDeb(ctx, ref, prebuiltKernels(ctx, args, ref, 'mkdeb'));
  return { exitCode: 0 };
};

export const mkdsc: Command = async (ctx, args) => {
  const ref = moduleVersionArgs(ctx, args, 'mkdsc');
  if (args.binariesOnly)
    throw refuse('mkdsc', '--binaries-only', 'A source package carries source; see mkbmdeb.');
  if (args.kernels.length > 0 || args.all)
    ctx.reporter.warn('mkdsc makes a source package: the kernels given are ignored.');
  await makeDsc(ctx, ref);
  return { exitCode: 0 };
};

export const mkrpm: Command = async (ctx, args) => {
  const ref = moduleVersionArgs(ctx, args, 'mkrpm');
  if (args.binariesOnly)
    throw refuse(
      'mkrpm',
      '--binaries-only',
      'Use mktarball --binaries-only, or mkbmdeb for a package of built modules.',
    );
  await makeRpm(ctx, ref, prebuiltKernels(ctx, args, ref, 'mkrpm'));
  return { exitCode: 0 };
};

const unsupported =
  (action: string, what: string, instead: string): Command =>
  () =>
    Promise.reject(
      new DkmsError('USAGE', `${action} is not supported in this version of dkms-ts (${what}).`, {
        exitCode: 1,
        hint: instead,
      }),
    );

export const mkkmp = unsupported(
  'mkkmp',
  'it built SUSE Kernel Module Package source RPMs from a --spec file',
  'Use mkrpm for an RPM that builds the module with dkms, or your distribution’s KMP tooling.',
);

export const mkdriverdisk = unsupported(
  'mkdriverdisk',
  'it built installer driver-update disk images',
  'Use mkbmdeb or mkrpm -k KERNEL for packages with prebuilt modules.',
);
