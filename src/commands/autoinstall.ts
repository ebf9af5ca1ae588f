import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import { MemoryReporter, type Reporter } from '../core/host.js';
import {
  formatJobError,
  gatherCandidates,
  runAutoinstallJob,
  summarize,
  type AutoinstallReport,
  type JobResult,
} from '../engine/autoinstall.js';
import { planAutoinstall, type AutoinstallPlan } from '../engine/autoinstallPlan.js';
import type { DkmsContext } from '../core/context.js';
import { BuildQueue } from '../engine/queue/buildQueue.js';
import { enqueuePlan } from '../engine/queue/enqueuePlan.js';
import { BuildDurations, durationsFile, jobEstimator } from '../engine/queue/buildEstimates.js';
import { headersPackageHint, headersPresent, kernelSourceDir } from '../kernel/kernel.js';
import { kernelArches, requireRootForSystemTree } from './common.js';
import { depmodAll } from '../engine/depmod.js';
import { autoinstallPreviewLines } from './dryRun.js';
import type { Command } from './types.js';

function replay(captured: MemoryReporter, to: Reporter): void {
  for (const line of captured.lines) to[line.level](line.text);
}

/**
 * Runs a plan on dkmsd's build queue: independent modules build side by side (the -j budget
 * is shared), BUILD_DEPENDS wait for their dependencies. Each job's output is held back and
 * printed in plan order, so the output reads as it did when jobs ran one after another.
 */
export async function runPlanInParallel(
  ctx: DkmsContext,
  plan: AutoinstallPlan,
  kernel: string,
  arch: string,
): Promise<JobResult[]> {
  const captured = new Map<string, MemoryReporter>();
  const queue = new BuildQueue({
    concurrency: Math.max(1, Math.min(ctx.parallelJobs, availableParallelism())),
    cpus: ctx.parallelJobs,
    jobserver: true,
    run: (request, makeJobs, signal, jobserver) => {
      const reporter = new MemoryReporter();
      captured.set(request.module, reporter);
      const jobCtx: DkmsContext = { ...ctx, reporter, parallelJobs: makeJobs, signal, jobserver };
      const ref = { module: request.module, version: request.version };
      return runAutoinstallJob(jobCtx, ref, kernel, arch);
    },
  });
  const pending = enqueuePlan(queue, plan.jobs, {
    kernel,
    arch,
    priority: 0,
    signal: ctx.signal ?? new AbortController().signal,
    // dkmsd's remembered durations, read only: the longest builds start first here too.
    estimate: jobEstimator(
      new BuildDurations(durationsFile(join(ctx.paths.dkmsTree, '.dkmsd-failures.json'))),
      (job) => ctx.tree.sourceLink(job),
    ),
  });
  const results: JobResult[] = [];
  for (const [i, job] of plan.jobs.entries()) {
    const result = await pending[i];
    if (!result) continue;
    const output = captured.get(job.module);
    if (output) {
      ctx.reporter.info(
        `Autoinstall of module ${job.module}/${job.version} for kernel ${kernel} (${arch})`,
      );
      replay(output, ctx.reporter);
      if (result.status === 'failed') ctx.reporter.error(formatJobError(result.error));
    }
    results.push(result);
  }
  return results;
}

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
  const results = await runPlanInParallel(ctx, plan, kernel, arch);
  for (const invalid of plan.invalid) ctx.reporter.error(`Error! ${invalid.reason}`);
  if (results.some((r) => r.status === 'installed')) {
    const failures = await depmodAll(ctx, [kernel]);
    for (const failure of failures.values()) ctx.reporter.error(`Error! ${failure.message}`);
  }
  return { kernel, arch, plan, results, broken };
}

export const autoinstall: Command = async (ctx, args) => {
  if (!args.dryRun) requireRootForSystemTree(ctx);
  if (existsSync(join(ctx.paths.confDir, 'no-autoinstall'))) {
    ctx.reporter.info('Automatic installation of modules has been disabled.');
    return { exitCode: 0 };
  }
  if (args.dryRun) {
    const output: string[] = [];
    for (const { kernel, arch } of kernelArches(ctx, args, undefined, 'autoinstall'))
      output.push(...(await autoinstallPreviewLines(ctx, kernel, arch)));
    return { exitCode: 0, output };
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
