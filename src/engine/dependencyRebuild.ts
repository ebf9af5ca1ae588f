import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { DkmsContext } from '../core/context.js';
import type { BuildRef } from '../core/stateTree.js';
import { compareVersions } from '../util/version.js';

/*
 * BUILD_DEPENDS_REBUILD (dkms 3.4): a build records the version of each dependency in
 * `<m>/<v>/<kver>/<arch>/.dep_<dependency>`; after an install, modules built against another
 * version of a dependency are rebuilt and installed again.
 */

/** The newest version of a module dkms knows (added or broken), as `sort -V | tail -n1`. */
export function newestKnownVersion(ctx: DkmsContext, module: string): string | undefined {
  return ctx.tree
    .versions(module)
    .filter((version) => {
      const ref = { module, version };
      return ctx.tree.isAdded(ref) || ctx.tree.isBroken(ref);
    })
    .sort(compareVersions)
    .at(-1);
}

const depFile = (ctx: DkmsContext, ref: BuildRef, dependency: string): string =>
  join(ctx.tree.versionDir(ref), ref.kernel, ref.arch, `.dep_${dependency}`);

/** After a successful build without --force: one `.dep_<dependency>` per BUILD_DEPENDS. */
export function recordDependencyVersions(
  ctx: DkmsContext,
  ref: BuildRef,
  conf: DkmsConf,
  force: boolean,
): void {
  if (!conf.buildDependsRebuild || force) return;
  for (const dependency of conf.buildDepends) {
    const version = newestKnownVersion(ctx, dependency);
    if (version) writeFileSync(depFile(ctx, ref, dependency), `${version}\n`);
  }
}

/** dkms's check_dependencies_updated: a dependency's newest version is not the recorded one. */
function dependenciesUpdated(ctx: DkmsContext, ref: BuildRef, conf: DkmsConf): boolean {
  for (const dependency of conf.buildDepends) {
    const version = newestKnownVersion(ctx, dependency);
    if (!version) continue;
    const file = depFile(ctx, ref, dependency);
    if (!existsSync(file) || readFileSync(file, 'utf8').trim() !== version) return true;
  }
  return false;
}

/** Whether a build's dependencies changed since it was built (BUILD_DEPENDS_REBUILD set). */
export async function needsRebuild(ctx: DkmsContext, ref: BuildRef): Promise<boolean> {
  if (!ctx.tree.isAdded(ref) || !ctx.tree.isBuilt(ref)) return false;
  const conf = await loadConfOrThrow(ctx, ref);
  if (conf.buildDepends.length === 0 || !conf.buildDependsRebuild) return false;
  return dependenciesUpdated(ctx, ref, conf);
}

/**
 * dkms 3.4's check_and_rebuild_dependent_modules for one kernel: the modules built for it
 * with BUILD_DEPENDS_REBUILD whose dependencies changed, in tree order. (Upstream's pass
 * logic compares `m/v` with module names and so never holds one back: each is rebuilt once.)
 */
export async function dependentsToRebuild(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<BuildRef[]> {
  const due: BuildRef[] = [];
  for (const mv of ctx.tree.moduleVersions()) {
    const ref = { ...mv, kernel, arch };
    if (await needsRebuild(ctx, ref)) due.push(ref);
  }
  return due;
}
