import { runningKernel } from '../kernel/kernels.js';
import { ensureMok, reportMokFailure } from '../sign/mok.js';
import { readSigningInputs } from '../sign/signingInputs.js';
import { locateMok } from '../sign/signingPlan.js';
import type { Command } from './types.js';

/**
 * dkms generate_mok: prints the key pair's paths (framework.conf, $kernelver = the first -k or
 * the running kernel) and creates it when missing. Exit 1 when it cannot be made, as upstream.
 */
export const generateMok: Command = async (ctx, args) => {
  const mok = locateMok(await readSigningInputs(ctx, args.kernels[0] ?? runningKernel()));
  ctx.reporter.info(`Signing key: ${mok.key}`);
  ctx.reporter.info(`Public certificate (MOK): ${mok.certificate}`);
  try {
    await ensureMok(mok, ctx.reporter);
  } catch (error) {
    reportMokFailure(ctx.reporter, error);
    return { exitCode: 1 };
  }
  return { exitCode: 0 };
};
