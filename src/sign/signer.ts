import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';
import { ensureMok, reportMokFailure } from './mok.js';
import { systemSecureBootProbe, warnIfNotEnrolled, type SecureBootProbe } from './secureBoot.js';
import { readSigningInputs } from './signingInputs.js';
import { planSigning, type MokPaths } from './signingPlan.js';

/** Signing that will happen for one build: the kernel wants it and the tools and keys are there. */
export interface ActiveSigning {
  hash: string;
  signFile: string;
  mok: MokPaths;
}

/**
 * dkms 3.4's prepare_signing for one kernel: decides, prints what upstream prints, generates
 * the key pair when missing and warns (once per run) when Secure Boot will reject it.
 * Returns undefined when modules will not be signed; that is never an error, as upstream.
 */
export async function prepareSigning(
  ctx: DkmsContext,
  kernel: string,
  kernelConfig: string | undefined,
  probe: SecureBootProbe = systemSecureBootProbe(),
): Promise<ActiveSigning | undefined> {
  const plan = planSigning(await readSigningInputs(ctx, kernel, kernelConfig));
  if (!plan.sign) {
    if (plan.signFile) ctx.reporter.info(`Sign command: ${plan.signFile}`);
    ctx.reporter.info(plan.reason);
    return undefined;
  }
  ctx.reporter.info(`Sign command: ${plan.signFile}`);
  ctx.reporter.info(`Signing key: ${plan.mok.key}`);
  ctx.reporter.info(`Public certificate (MOK): ${plan.mok.certificate}`);
  if (plan.generate) {
    try {
      await ensureMok(plan.mok, ctx.reporter);
    } catch (error) {
      reportMokFailure(ctx.reporter, error);
      return undefined;
    }
  }
  await warnIfNotEnrolled(ctx, ctx.reporter, plan.mok.certificate, probe);
  return { hash: plan.hash, signFile: plan.signFile, mok: plan.mok };
}

/** Signs one uncompressed module in place; a failure is a warning, as upstream. */
export async function signModule(
  ctx: DkmsContext,
  signing: ActiveSigning,
  file: string,
  /** The name to print (a temporary copy is signed for `shownAs`). */
  shownAs = file,
): Promise<boolean> {
  ctx.reporter.info(`Signing module ${shownAs}`);
  const result = await runTool(signing.signFile, [
    signing.hash,
    signing.mok.key,
    signing.mok.certificate,
    file,
  ]);
  if (result.exitCode === 0) return true;
  ctx.reporter.warn(
    `Failed to sign module '${shownAs}'!\n${`${result.stdout}${result.stderr}`.trim()}`,
  );
  return false;
}
