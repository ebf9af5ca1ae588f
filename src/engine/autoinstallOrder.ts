import type { ModuleVersionRef } from '../core/stateTree.js';

/*
 * dkms 3.4.3's autoinstall algorithm, as a pure function: modules in tree order, repeated
 * passes; each pass attempts every module whose BUILD_DEPENDS are all installed or skipped
 * (a BUILD_EXCLUSIVE skip satisfies its dependents); it stops when a pass makes no progress.
 */

/** A module's newest version as autoinstall sees it, in the order the tree lists modules. */
export interface KnownModule extends ModuleVersionRef {
  /** The kernel link points at this version already. */
  installed: boolean;
  autoinstall: boolean;
  buildDepends: string[];
}

/** What an attempt ended with: installed, skipped (exit 77) or failed with an exit status. */
export type AttemptOutcome =
  { status: 'installed' } | { status: 'skipped' } | { status: 'failed'; exitCode: number };

export interface AutoinstallRun {
  /** Modules attempted, in the order dkms attempts them. */
  attempts: ModuleVersionRef[];
  /** Already installed first (tree order), then the ones installed now. */
  installed: string[];
  skipped: string[];
  /** `m(status)` */
  failed: string[];
  /**
   * Never attempted, in tree order: `deferred` when every missing dependency is unknown to
   * DKMS (not a failure), else unresolved (a dependency is a DKMS module that was not installed).
   */
  leftover: (ModuleVersionRef & { missing: string[]; deferred: boolean })[];
}

/**
 * Runs the passes with `outcome` telling how each attempt ended. With an outcome that always
 * succeeds it says which modules could be attempted at all (what to queue).
 */
export function autoinstallRun(
  known: readonly KnownModule[],
  outcome: (ref: ModuleVersionRef) => AttemptOutcome,
): AutoinstallRun {
  const run: AutoinstallRun = {
    attempts: [],
    installed: known.filter((m) => m.installed).map((m) => m.module),
    skipped: [],
    failed: [],
    leftover: [],
  };
  let pending = known.filter((m) => !m.installed && m.autoinstall);
  const depends = new Map(pending.map((m) => [m.module, [...m.buildDepends]]));
  for (;;) {
    let progress = 0;
    const satisfied = new Set([...run.installed, ...run.skipped]);
    for (const [module, deps] of depends)
      depends.set(
        module,
        deps.filter((d) => !satisfied.has(d)),
      );
    const next: KnownModule[] = [];
    for (const m of pending) {
      if ((depends.get(m.module) ?? []).length > 0) {
        next.push(m);
        continue;
      }
      const ref = { module: m.module, version: m.version };
      run.attempts.push(ref);
      const result = outcome(ref);
      if (result.status === 'installed') {
        run.installed.push(m.module);
        progress++;
      } else if (result.status === 'skipped') {
        run.skipped.push(m.module);
        progress++;
      } else {
        run.failed.push(`${m.module}(${result.exitCode})`);
      }
    }
    pending = next;
    if (progress === 0) break;
  }
  const names = new Set(known.map((m) => m.module));
  for (const m of pending) {
    const missing = depends.get(m.module) ?? [];
    const ref = { module: m.module, version: m.version };
    const real = missing.filter((d) => names.has(d));
    run.leftover.push(
      real.length > 0
        ? { ...ref, missing: real, deferred: false }
        : { ...ref, missing, deferred: true },
    );
  }
  return run;
}

/** The lines dkms prints after the attempts. */
export function autoinstallSummary(kernel: string, run: AutoinstallRun): string[] {
  const lines: string[] = [];
  if (run.installed.length > 0)
    lines.push(`Autoinstall on ${kernel} succeeded for module(s) ${run.installed.join(' ')}.`);
  if (run.skipped.length > 0)
    lines.push(`Autoinstall on ${kernel} was skipped for module(s) ${run.skipped.join(' ')}.`);
  if (run.failed.length > 0)
    lines.push(`Autoinstall on ${kernel} failed for module(s) ${run.failed.join(' ')}.`);
  for (const l of run.leftover) {
    const list = l.missing.map((d) => ` ${d}`).join('');
    lines.push(
      l.deferred
        ? `${l.module}/${l.version} autoinstall deferred: BUILD_DEPENDS not registered with DKMS:${list}.`
        : `${l.module}/${l.version} autoinstall failed due to missing dependencies:${list}.`,
    );
  }
  const deferred = run.leftover.filter((l) => l.deferred);
  if (deferred.length > 0) {
    const mvs = deferred.map((d) => `${d.module}/${d.version}`).join(' ');
    lines.push(
      `Autoinstall on ${kernel} deferred module(s) ${mvs} due to BUILD_DEPENDS not yet registered with DKMS.`,
      'These may be provided externally or by a package not yet configured; autoinstall will retry on the next trigger.',
    );
  }
  return lines;
}

/** Whether autoinstall ends with exit 11. */
export const autoinstallFailed = (run: AutoinstallRun): boolean =>
  run.failed.length > 0 || run.leftover.some((l) => !l.deferred);
