import { loadConfs } from '../conf/loadConf.js';
import { DkmsError, isDkmsError, EXIT_SKIPPED } from '../core/errors.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import {
  newestVersions,
  type AutoinstallCandidate,
  type AutoinstallPlan,
} from './autoinstallPlan.js';
import type { DkmsContext } from '../core/context.js';
import { withModuleSession } from './recovery.js';

export interface KernelCandidates {
  kernel: string;
  arch: string;
  candidates: AutoinstallCandidate[];
  broken: ModuleVersionRef[];
}

/**
 * Reads the tree and the dkms.conf of each module's newest version for several kernels, in
 * one bash process. A module already installed for a kernel needs no conf (the planner keeps
 * it as it is), so when everything is installed nothing is evaluated at all.
 */
export async function gatherCandidatesForKernels(
  ctx: DkmsContext,
  targets: readonly { kernel: string; arch: string }[],
): Promise<KernelCandidates[]> {
  const broken: ModuleVersionRef[] = [];
  const added: ModuleVersionRef[] = [];
  for (const ref of ctx.tree.moduleVersions()) {
    if (ctx.tree.isBroken(ref)) broken.push(ref);
    else if (ctx.tree.isAdded(ref)) added.push(ref);
  }
  // Only a module's newest version is a candidate, so only those confs are read.
  const newest = newestVersions(added);
  const perKernel = targets.map(({ kernel, arch }) =>
    newest.map((ref) => ({
      ref,
      kernel,
      arch,
      installed:
        ctx.tree.isInstalled({ ...ref, kernel, arch }) &&
        ctx.tree.isBuilt({ ...ref, kernel, arch }),
    })),
  );
  const requests = perKernel.flat().filter((entry) => !entry.installed);
  const outcomes = await loadConfs(
    ctx,
    requests.map(({ ref, kernel, arch }) => ({ ...ref, kernel, arch })),
  );
  const outcomeOf = new Map(requests.map((entry, i) => [entry, outcomes[i]]));
  return targets.map(({ kernel, arch }, k) => ({
    kernel,
    arch,
    broken,
    candidates: (perKernel[k] ?? []).map((entry): AutoinstallCandidate => {
      const { ref, installed } = entry;
      if (installed) return { ...ref, installed, autoinstall: true, buildDepends: [] };
      const outcome = outcomeOf.get(entry);
      if (!outcome?.ok) {
        return {
          ...ref,
          installed,
          autoinstall: false,
          buildDepends: [],
          confError: outcome?.error.message ?? 'unreadable dkms.conf',
        };
      }
      return {
        ...ref,
        installed,
        autoinstall: outcome.conf.autoinstall,
        buildDepends: outcome.conf.buildDepends,
        exclusion: outcome.conf.exclusion,
      };
    }),
  }));
}

/** Reads the tree and every module's conf (one bash process) for one kernel. */
export async function gatherCandidates(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<{ candidates: AutoinstallCandidate[]; broken: ModuleVersionRef[] }> {
  const [gathered] = await gatherCandidatesForKernels(ctx, [{ kernel, arch }]);
  return { candidates: gathered?.candidates ?? [], broken: gathered?.broken ?? [] };
}

export type JobResult =
  | { ref: ModuleVersionRef; status: 'installed' | 'already-installed' }
  | { ref: ModuleVersionRef; status: 'skipped'; reason: string }
  | { ref: ModuleVersionRef; status: 'failed'; error: DkmsError };

/**
 * Builds and installs one module for one kernel under its lock; never throws. `depmod`: the
 * install ends with dkms's `Running depmod... done.` (dkms autoinstall); dkmsd finishes each
 * kernel once instead.
 */
export async function runAutoinstallJob(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kernel: string,
  arch: string,
  options: { depmod?: boolean } = {},
): Promise<JobResult> {
  try {
    // Loaded on first use: dkmsd plans without loading the build engine (execa & co.).
    const { installModule } = await import('./install.js');
    const outcome = await withModuleSession(ctx, ref.module, () =>
      installModule(ctx, { ...ref, kernel, arch }, { depmod: Boolean(options.depmod) }),
    );
    return { ref, status: outcome };
  } catch (error) {
    if (isDkmsError(error) && error.exitCode === EXIT_SKIPPED)
      return { ref, status: 'skipped', reason: error.message };
    return {
      ref,
      status: 'failed',
      error: isDkmsError(error)
        ? error
        : new DkmsError('INTERNAL', String(error), { cause: error }),
    };
  }
}

export interface AutoinstallReport {
  kernel: string;
  arch: string;
  plan: AutoinstallPlan;
  results: JobResult[];
  broken: ModuleVersionRef[];
}

export function formatJobError(error: DkmsError): string {
  return [
    `Error! ${error.message}`,
    error.logPath ? `Consult ${error.logPath} for more information.` : '',
    error.hint ?? '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The closing lines dkms prints after autoinstall, and whether it failed (exit 11). */
export function summarize(report: AutoinstallReport): { lines: string[]; failed: boolean } {
  const { kernel } = report;
  const names = (status: JobResult['status']): string[] =>
    report.results.filter((r) => r.status === status).map((r) => r.ref.module);
  const failedResults = report.results.filter(
    (r): r is Extract<JobResult, { status: 'failed' }> => r.status === 'failed',
  );
  const lines: string[] = [];
  const installed = names('installed');
  const skipped = [...report.plan.skipped.map((s) => s.module), ...names('skipped')];
  const failed = [
    ...failedResults.map((r) => `${r.ref.module}(${r.error.exitCode})`),
    ...report.plan.invalid.map((r) => `${r.module}(conf)`),
  ];
  if (installed.length > 0)
    lines.push(`Autoinstall on ${kernel} succeeded for module(s) ${installed.join(' ')}.`);
  if (skipped.length > 0)
    lines.push(`Autoinstall on ${kernel} was skipped for module(s) ${skipped.join(' ')}.`);
  if (failed.length > 0)
    lines.push(`Autoinstall on ${kernel} failed for module(s) ${failed.join(' ')}.`);
  for (const u of report.plan.unsatisfied)
    lines.push(
      `${u.module}/${u.version} autoinstall failed due to missing dependencies: ${u.missing.join(' ')}.`,
    );
  return { lines, failed: failed.length > 0 || report.plan.unsatisfied.length > 0 };
}
