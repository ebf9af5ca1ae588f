import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import {
  gatherCandidates,
  runPlanSequentially,
  summarize,
  type AutoinstallReport,
} from '../engine/autoinstall.js';
import { planAutoinstall } from '../engine/autoinstallPlan.js';
import type { DkmsContext } from '../engine/context.js';
import { headersPackageHint, headersPresent, kernelSourceDir } from '../kernel/kernel.js';
import { depmodAll, kernelArches, requireRootForSystemTree } from './common.js';
import type { Command } from './types.js';

/** Autoinstall for one kernel: plan, build+install, one depmod. */
export async function autoinstallKernel(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<AutoinstallReport> {
  const { candidates, broken } = await gatherCandidates(ctx, kernel, arch);
  for (const ref of broken) {
    ctx.reporter.error(
      `\nError! ${ref.module}/${ref.version} is broken! Missing the source directory or the symbolic link pointing to it.\nManual intervention is required!`,
    );
  }
  const plan = planAutoinstall(candidates);
  if (plan.jobs.length > 0) {
    const sourceDir = kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir);
    if (!headersPresent(sourceDir)) {
      throw new DkmsError(
        'HEADERS_MISSING',
        `Your kernel headers for kernel ${kernel} cannot be found at ${sourceDir}.`,
        {
          hint: `Please install the ${headersPackageHint(kernel, ctx.distro)} package or use the --kernelsourcedir option to tell DKMS where it's located.`,
        },
      );
    }
  }
  const results = await runPlanSequentially(ctx, plan, kernel, arch);
  for (const invalid of plan.invalid) ctx.reporter.error(`Error! ${invalid.reason}`);
  if (results.some((r) => r.status === 'installed')) {
    const failures = await depmodAll(ctx, [kernel]);
    for (const failure of failures.values()) ctx.reporter.error(`Error! ${failure.message}`);
  }
  return { kernel, arch, plan, results, broken };
}

export const autoinstall: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  if (existsSync(join(ctx.paths.confDir, 'no-autoinstall'))) {
    ctx.reporter.info('Automatic installation of modules has been disabled.');
    return { exitCode: 0 };
  }
  let failed = false;
  for (const { kernel, arch } of kernelArches(ctx, args, undefined, 'autoinstall')) {
    const report = await autoinstallKernel(ctx, kernel, arch);
    const summary = summarize(report);
    for (const line of summary.lines) ctx.reporter.info(line);
    failed ||= summary.failed;
  }
  if (failed) {
    throw new DkmsError(
      'AUTOINSTALL_FAILED',
      'One or more modules failed to install during autoinstall.\nRefer to previous errors for more information.',
    );
  }
  return { exitCode: 0 };
};
