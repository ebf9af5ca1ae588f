import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { kernelSourceDir } from '../kernel/kernel.js';
import { headersState } from '../kernel/headers.js';
import { prepareSigning, type ActiveSigning } from '../sign/signer.js';
import { kernelConfigFor } from '../sign/signingInputs.js';
import { join } from 'node:path';

/**
 * dkms's prepare_kernel: the headers must be ready (kernel/headers.ts, the rule dkmsd uses
 * too; exit 21, upstream's wording, and what is missing when they are incomplete).
 */
export function requireHeaders(ctx: DkmsContext, kernel: string): void {
  const sourceDir = kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir);
  const headers = headersState(sourceDir);
  if (headers.state === 'ready') return;
  const lib = join(ctx.paths.installTree, kernel);
  throw new DkmsError(
    'HEADERS_MISSING',
    `Your kernel headers for kernel ${kernel} cannot be found at ${lib}/build or ${lib}/source.\nPlease install your distribution's kernel headers package matching ${kernel}, or use the --kernelsourcedir option to tell DKMS where it's located.`,
    headers.state === 'incomplete'
      ? {
          hint: `${sourceDir} is incomplete (no ${headers.missing.join(', ')}): if its package is being installed, try again once it is.`,
        }
      : {},
  );
}

/**
 * dkms's prepare_kernel_and_signing: checks the headers, decides signing (printing the
 * signing lines) and a blank line, once per kernel/arch per command when the context keeps
 * `preparedKernels` (the CLI), at every build otherwise (dkmsd, whose keys may change).
 */
export async function prepareKernelAndSigning(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<ActiveSigning | undefined> {
  const key = `${kernel}/${arch}`;
  const prepared = ctx.preparedKernels;
  if (prepared?.has(key)) return prepared.get(key) as ActiveSigning | undefined;
  requireHeaders(ctx, kernel);
  const signing = await prepareSigning(ctx, kernel, kernelConfigFor(ctx, kernel));
  ctx.reporter.info('');
  prepared?.set(key, signing);
  return signing;
}
