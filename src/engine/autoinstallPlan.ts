import { compareVer } from '../util/version.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { autoinstallRun, type AutoinstallRun, type KnownModule } from './autoinstallOrder.js';

/** What the planner knows of one module for one kernel (gathered by the caller). */
export interface AutoinstallCandidate extends ModuleVersionRef {
  /** dkms.conf could not be read: the message. */
  confError?: string;
  autoinstall: boolean;
  buildDepends: string[];
  /** BUILD_EXCLUSIVE_* / OBSOLETE_BY mismatch, reported as skipped. */
  exclusion?: string;
  /** The kernel link already points at this version. */
  installed: boolean;
}

export interface AutoinstallJob extends ModuleVersionRef {
  /** Modules of this plan that must be installed first. */
  after: string[];
}

export interface AutoinstallPlan {
  /** In dkms 3.4.3's attempt order; each job's `after` come earlier. */
  jobs: AutoinstallJob[];
  alreadyInstalled: ModuleVersionRef[];
  skipped: (ModuleVersionRef & { reason: string })[];
  /** Not planned because their conf is unreadable. */
  invalid: (ModuleVersionRef & { reason: string })[];
  /** Waiting on dependencies DKMS knows but nothing installs: a failure. */
  unsatisfied: (ModuleVersionRef & { missing: string[] })[];
  /** Waiting on dependencies DKMS does not know (yet): deferred, not a failure. */
  deferred: (ModuleVersionRef & { missing: string[] })[];
}

/** The newest version of each module, as dkms picks it for autoinstall (by VER(), the first seen on a tie). */
export function newestVersions<T extends ModuleVersionRef>(entries: readonly T[]): T[] {
  const newest = new Map<string, T>();
  for (const entry of entries) {
    const current = newest.get(entry.module);
    if (!current || compareVer(entry.version, current.version) > 0) newest.set(entry.module, entry);
  }
  return [...newest.values()];
}

/**
 * What dkms 3.4.3's autoinstall could attempt if every attempt succeeded (a module `skips`
 * names: skipped, which satisfies its dependents too), as queue jobs in its attempt order,
 * each after the jobs its BUILD_DEPENDS name. The build queue then holds back the dependents
 * of a job that failed, as dkms never attempts them.
 */
export function autoinstallJobs(
  known: readonly KnownModule[],
  skips: ReadonlySet<string> = new Set(),
): { jobs: AutoinstallJob[]; run: AutoinstallRun } {
  const run = autoinstallRun(known, (ref) =>
    skips.has(ref.module) ? { status: 'skipped' } : { status: 'installed' },
  );
  const dependsOf = new Map(known.map((m) => [m.module, m.buildDepends]));
  const attempted = new Set(run.attempts.map((ref) => ref.module));
  const jobs = run.attempts
    .filter((ref) => !skips.has(ref.module))
    .map((ref) => ({
      module: ref.module,
      version: ref.version,
      after: (dependsOf.get(ref.module) ?? []).filter((d) => attempted.has(d) && !skips.has(d)),
    }));
  return { jobs, run };
}

const byModule = (a: ModuleVersionRef, b: ModuleVersionRef): number =>
  a.module < b.module ? -1 : a.module > b.module ? 1 : 0;

/**
 * Decides what autoinstall does for one kernel, by dkms 3.4.3's rules (autoinstallOrder.ts):
 * which modules to build and install and in which order, which are skipped (BUILD_EXCLUSIVE,
 * known before building), which wait on dependencies (a failure when DKMS knows them,
 * deferred when it does not). Pure: candidates come in, a plan comes out.
 */
export function planAutoinstall(candidates: readonly AutoinstallCandidate[]): AutoinstallPlan {
  const newest = newestVersions(candidates).sort(byModule);
  const refOf = (c: AutoinstallCandidate): ModuleVersionRef => ({
    module: c.module,
    version: c.version,
  });
  const known: KnownModule[] = newest.map((c) => ({
    ...refOf(c),
    installed: c.installed,
    // an unreadable conf is never attempted; its dependents wait on a module DKMS knows
    autoinstall: c.autoinstall && !c.confError,
    buildDepends: c.buildDepends,
  }));
  const exclusions = new Map(
    newest.flatMap((c) => (c.exclusion && !c.confError ? [[c.module, c.exclusion]] : [])),
  );
  const { jobs, run } = autoinstallJobs(known, new Set(exclusions.keys()));
  const leftover = (deferred: boolean) =>
    run.leftover
      .filter((l) => l.deferred === deferred)
      .map((l) => ({ module: l.module, version: l.version, missing: l.missing }));
  return {
    jobs,
    alreadyInstalled: newest.filter((c) => c.installed).map(refOf),
    skipped: run.attempts.flatMap((ref) => {
      const reason = exclusions.get(ref.module);
      return reason === undefined ? [] : [{ ...ref, reason }];
    }),
    invalid: newest.flatMap((c) =>
      c.confError && !c.installed ? [{ ...refOf(c), reason: c.confError }] : [],
    ),
    unsatisfied: leftover(false),
    deferred: leftover(true),
  };
}
