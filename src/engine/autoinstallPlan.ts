import { compareVer } from '../util/version.js';
import type { ModuleVersionRef } from '../core/stateTree.js';

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
  /** In an order that respects BUILD_DEPENDS (each job's `after` come earlier). */
  jobs: AutoinstallJob[];
  alreadyInstalled: ModuleVersionRef[];
  skipped: (ModuleVersionRef & { reason: string })[];
  /** Not planned because their conf is unreadable. */
  invalid: (ModuleVersionRef & { reason: string })[];
  /** Waiting on dependencies that nothing installs. */
  unsatisfied: (ModuleVersionRef & { missing: string[] })[];
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
 * Decides what autoinstall does for one kernel: which modules to build and install, in
 * BUILD_DEPENDS order, and which are skipped and why. Pure: candidates come in, a plan comes out.
 */
export function planAutoinstall(candidates: readonly AutoinstallCandidate[]): AutoinstallPlan {
  const plan: AutoinstallPlan = {
    jobs: [],
    alreadyInstalled: [],
    skipped: [],
    invalid: [],
    unsatisfied: [],
  };
  const satisfied = new Set<string>();
  const pending: AutoinstallCandidate[] = [];
  for (const c of newestVersions(candidates)) {
    const ref = { module: c.module, version: c.version };
    if (c.installed) {
      plan.alreadyInstalled.push(ref);
      satisfied.add(c.module);
    } else if (c.confError) {
      plan.invalid.push({ ...ref, reason: c.confError });
    } else if (!c.autoinstall) {
      continue;
    } else if (c.exclusion) {
      plan.skipped.push({ ...ref, reason: c.exclusion });
      satisfied.add(c.module);
    } else {
      pending.push(c);
    }
  }
  const planned = new Set<string>();
  let progress = true;
  while (pending.length > 0 && progress) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const c = pending[i];
      if (!c) continue;
      const waiting = c.buildDepends.filter((d) => !satisfied.has(d) && !planned.has(d));
      if (waiting.length > 0) continue;
      plan.jobs.push({
        module: c.module,
        version: c.version,
        after: c.buildDepends.filter((d) => planned.has(d)),
      });
      planned.add(c.module);
      pending.splice(i--, 1);
      progress = true;
    }
  }
  for (const c of pending) {
    plan.unsatisfied.push({
      module: c.module,
      version: c.version,
      missing: c.buildDepends.filter((d) => !satisfied.has(d) && !planned.has(d)),
    });
  }
  return plan;
}
