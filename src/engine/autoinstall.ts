import { loadConfs } from '../conf/loadConf.js';
import { DkmsError, isDkmsError, EXIT_SKIPPED } from '../core/errors.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { newestVersions, type AutoinstallCandidate } from './autoinstallPlan.js';
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
  | {
      ref: ModuleVersionRef;
      status: 'failed';
      error: DkmsError;
      /** The last lines the job printed (dkmsd's log record of the failure carries them). */
      output?: string[];
    };

/**
 * Builds and installs one module for one kernel under its lock, then (as dkms 3.4's
 * do_install) rebuilds the modules built against another version of a dependency
 * (BUILD_DEPENDS_REBUILD); never throws. `depmod`: each install ends with dkms's `Running
 * depmod... done.` (dkms autoinstall); dkmsd finishes each kernel once instead.
 * `rebuildDependents: false`: the caller rebuilds (dkms autoinstall, in attempt order).
 */
export async function runAutoinstallJob(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kernel: string,
  arch: string,
  options: { depmod?: boolean; rebuildDependents?: boolean } = {},
): Promise<JobResult> {
  try {
    // Loaded on first use: dkmsd plans without loading the build engine (execa & co.).
    const { installModule } = await import('./install.js');
    const depmod = Boolean(options.depmod);
    const outcome = await withModuleSession(ctx, ref.module, () =>
      installModule(ctx, { ...ref, kernel, arch }, { depmod }),
    );
    // after the module's own lock is released: the rebuilds take their modules' locks
    if (outcome === 'installed' && options.rebuildDependents !== false) {
      const { rebuildUpdatedDependents } = await import('./rebuildAfterInstall.js');
      await rebuildUpdatedDependents(ctx, kernel, arch, { force: false, depmod });
    }
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
