import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { headersPresent, kernelSourceDir } from '../kernel/kernel.js';
import { prepareSigning, type ActiveSigning } from '../sign/signer.js';
import { kernelConfigFor } from '../sign/signingInputs.js';
import { join } from 'node:path';

/** dkms's prepare_kernel: the headers must be there (exit 21, upstream's wording). */
export function requireHeaders(ctx: DkmsContext, kernel: string): void {
  const sourceDir = kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir);
  if (headersPresent(sourceDir)) return;
  const lib = join(ctx.paths.installTree, kernel);
  throw new DkmsError(
    'HEADERS_MISSING',
    `Your kernel headers for kernel ${kernel} cannot be found at ${lib}/build or ${lib}/source.\nPlease install your distribution's kernel headers package matching ${kernel}, or use the --kernelsourcedir option to tell DKMS where it's located.`,
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
