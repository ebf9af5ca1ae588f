import type { AutoinstallCandidate } from '../../engine/autoinstallPlan.js';
import type { ModuleVersionRef } from '../../core/stateTree.js';

/**
 * A module named by `module-added` is built like `dkms install` would, AUTOINSTALL or not
 * (the hooks' fallback does that too). Pure.
 */
export function forceModules(
  candidates: readonly AutoinstallCandidate[],
  forced: readonly ModuleVersionRef[],
): AutoinstallCandidate[] {
  if (forced.length === 0) return [...candidates];
  return candidates.map((candidate) =>
    forced.some((ref) => ref.module === candidate.module && ref.version === candidate.version) &&
    !candidate.confError
      ? { ...candidate, autoinstall: true }
      : candidate,
  );
}
