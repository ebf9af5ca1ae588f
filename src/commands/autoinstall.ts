import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadConfs } from '../conf/loadConf.js';
import { DkmsError, toDkmsError } from '../core/errors.js';
import { MemoryReporter, type Reporter } from '../core/host.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { runAutoinstallJob, type JobResult } from '../engine/autoinstall.js';
import {
  autoinstallFailed,
  autoinstallRun,
  autoinstallSummary,
  type AttemptOutcome,
  type AutoinstallRun,
  type KnownModule,
} from '../engine/autoinstallOrder.js';
import { autoinstallJobs, newestVersions } from '../engine/autoinstallPlan.js';
import type { DkmsContext } from '../core/context.js';
import { BuildQueue } from '../engine/queue/buildQueue.js';
import { enqueuePlan } from '../engine/queue/enqueuePlan.js';
import { BuildDurations, durationsFile, jobEstimator } from '../engine/queue/buildEstimates.js';
import { prepareKernelAndSigning } from '../engine/kernelPreparation.js';
import { kernelArches, requireRootForSystemTree } from './common.js';
import { depmodAll } from '../engine/depmod.js';
import { rebuildUpdatedDependents } from '../engine/rebuildAfterInstall.js';
import { autoinstallPreviewLines } from './dryRun.js';
import { errorText, wantLogTail } from './errorText.js';
import { autoinstallRunResult, recordReadiness } from '../engine/readiness.js';
import type { Command } from './types.js';

function replay(captured: MemoryReporter, to: Reporter): void {
  for (const line of captured.lines) to[line.level](line.text);
}

/** dkms 3.4.3's autoinstall error for a broken module. */
const brokenError = (ref: ModuleVersionRef): string =>
  `\nError! ${ref.module}/${ref.version} is broken! Missing the source directory or the symbolic link pointing to it.\nManual intervention is required!`;

/**
 * The tree as autoinstall sees it: each module's newest version in tree order, whether it
 * is installed, and (for the others) AUTOINSTALL and BUILD_DEPENDS from its dkms.conf. A
 * dkms.conf that cannot be read stops autoinstall (exit 8), as upstream.
 */
async function knownModules(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<KnownModule[]> {
  const added: ModuleVersionRef[] = [];
  for (const ref of ctx.tree.moduleVersions()) {
    if (ctx.tree.isBroken(ref)) ctx.reporter.error(brokenError(ref));
    else if (ctx.tree.isAdded(ref)) added.push(ref);
  }
  const newest = newestVersions(added).sort((a, b) =>
    a.module < b.module ? -1 : a.module > b.module ? 1 : 0,
  );
  const installed = newest.map((ref) => ctx.tree.isInstalled({ ...ref, kernel, arch }));
  const toRead = newest.filter((_, i) => !installed[i]);
  const outcomes = await loadConfs(
    ctx,
    toRead.map((ref) => ({ ...ref, kernel, arch, confPath: ctx.tree.confPath(ref) })),
  );
  const confOf = new Map(toRead.map((ref, i) => [ref.module, outcomes[i]]));
  return newest.map((ref, i): KnownModule => {
    if (installed[i]) return { ...ref, installed: true, autoinstall: true, buildDepends: [] };
    const outcome = confOf.get(ref.module);
    if (!outcome?.ok) throw outcome?.error ?? new DkmsError('CONF_INVALID', 'Bad conf file.');
    return {
      ...ref,
      installed: false,
      autoinstall: outcome.conf.autoinstall,
      buildDepends: outcome.conf.buildDepends,
    };
  });
}

const outcomeOf = (result: JobResult | undefined): AttemptOutcome => {
  if (result?.status === 'installed' || result?.status === 'already-installed')
    return { status: 'installed' };
  if (result?.status === 'skipped') return { status: 'skipped' };
  return { status: 'failed', exitCode: result?.status === 'failed' ? result.error.exitCode : 1 };
};

/**
 * Builds the modules autoinstall would attempt on the build queue (independent modules side
 * by side, dependents after their dependencies), then prints each attempt whole in the order
 * dkms 3.4.3 attempts them.
 */
export async function autoinstallKernel(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<AutoinstallRun | undefined> {
  const known = await knownModules(ctx, kernel, arch);
  // nothing to do (everything installed or not autoinstalled): no summary at all
  if (!known.some((m) => !m.installed && m.autoinstall)) {
    await recordReadiness(ctx, autoinstallRunResult(kernel, arch, known, { jobs: [] }), 'dkms');
    return undefined;
  }
  // BUILD_EXCLUSIVE skips are attempted as dkms does (its warning and exit 77 are output)
  const { jobs } = autoinstallJobs(known);
  await recordReadiness(ctx, autoinstallRunResult(kernel, arch, known, { jobs }), 'dkms');
  const unbuilt = new Set(
    jobs.filter((job) => !ctx.tree.isBuilt({ ...job, kernel, arch })).map((job) => job.module),
  );
  // dkms prepares the kernel (headers, signing) before the first module it has to build
  const preparation = new MemoryReporter();
  if (unbuilt.size > 0)
    await prepareKernelAndSigning({ ...ctx, reporter: preparation }, kernel, arch);

  const captured = new Map<string, MemoryReporter>();
  const queue = new BuildQueue({
    concurrency: Math.max(1, Math.min(ctx.parallelJobs || Infinity, availableParallelism())),
    cpus: ctx.parallelJobs || availableParallelism(),
    // no jobserver: each make gets dkms's full -j, as its command line is part of the
    // output and of make.log (dkms 3.4.3 runs `make -j$parallel_jobs KERNELRELEASE=...`)
    run: (request, _makeJobs, signal) => {
      const reporter = new MemoryReporter();
      captured.set(request.module, reporter);
      const jobCtx: DkmsContext = { ...ctx, reporter, signal };
      const ref = { module: request.module, version: request.version };
      // dependants are rebuilt below, in dkms's attempt order, where dkms prints it
      return runAutoinstallJob(jobCtx, ref, kernel, arch, {
        depmod: true,
        rebuildDependents: false,
      });
    },
  });
  const pending = enqueuePlan(queue, jobs, {
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
  const results = new Map<string, JobResult>();
  for (const [i, job] of jobs.entries()) {
    const result = await pending[i];
    if (result) results.set(job.module, result);
  }

  await recordReadiness(
    ctx,
    autoinstallRunResult(kernel, arch, known, { jobs }, [...results.values()]),
    'dkms',
  );
  const attempts = autoinstallRun(known, (ref) => outcomeOf(results.get(ref.module))).attempts;
  let prepared = false;
  for (const ref of attempts) {
    if (!prepared && unbuilt.has(ref.module)) {
      replay(preparation, ctx.reporter);
      prepared = true;
    }
    ctx.reporter.info(
      `Autoinstall of module ${ref.module}/${ref.version} for kernel ${kernel} (${arch})`,
    );
    const output = captured.get(ref.module);
    if (output) replay(output, ctx.reporter);
    if (results.get(ref.module)?.status === 'installed') {
      const rebuilt = await rebuildAfter(ctx, ref, kernel, arch);
      if (rebuilt) results.set(ref.module, rebuilt);
    }
    const result = results.get(ref.module);
    if (result?.status === 'failed') {
      const text = errorText(result.error, { forPerson: wantLogTail() });
      if (text) ctx.reporter.error(text);
    } else if (result?.status === 'skipped') {
      ctx.reporter.warn(`Warning: ${result.reason}`);
    }
    ctx.reporter.info('');
  }
  // What the kernel owes (this run's installs, or an earlier command killed before its depmod).
  const failures = await depmodAll(ctx, [{ kernel, arch }]);
  for (const failure of failures.values()) ctx.reporter.error(`Error! ${failure.message}`);
  // a failed rebuild failed its attempt, as in dkms
  return autoinstallRun(known, (ref) => outcomeOf(results.get(ref.module)));
}

/**
 * dkms's do_install ends by rebuilding BUILD_DEPENDS_REBUILD dependants; their output belongs
 * to the attempt, and a failed rebuild fails it (resolves with its failure).
 */
async function rebuildAfter(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kernel: string,
  arch: string,
): Promise<JobResult | undefined> {
  try {
    await rebuildUpdatedDependents(ctx, kernel, arch, { force: false, depmod: true });
    return undefined;
  } catch (error) {
    return { ref, status: 'failed', error: toDkmsError(error) };
  }
}

export const autoinstall: Command = async (ctx, args) => {
  if (!args.dryRun) requireRootForSystemTree(ctx);
  if (existsSync(join(ctx.paths.confDir, 'no-autoinstall'))) {
    ctx.reporter.info('Automatic installation of modules has been disabled.');
    return { exitCode: 0 };
  }
  const targets = kernelArches(ctx, args, undefined, 'autoinstall');
  if (targets.length !== 1) {
    throw new DkmsError(
      'USAGE',
      'The action autoinstall does not support multiple kernel version parameters on the command line.',
      { exitCode: 4 },
    );
  }
  if (args.dryRun) {
    const output: string[] = [];
    for (const { kernel, arch } of targets)
      output.push(...(await autoinstallPreviewLines(ctx, kernel, arch)));
    return { exitCode: 0, output };
  }
  let failed = false;
  for (const { kernel, arch } of targets) {
    const run = await autoinstallKernel(ctx, kernel, arch);
    if (!run) continue;
    for (const line of autoinstallSummary(kernel, run)) ctx.reporter.info(line);
    failed ||= autoinstallFailed(run);
  }
  if (failed) {
    throw new DkmsError(
      'AUTOINSTALL_FAILED',
      'One or more modules failed to install during autoinstall.\nRefer to previous errors for more information.',
    );
  }
  return { exitCode: 0 };
};
