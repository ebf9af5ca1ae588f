import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfs } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { installedModuleFile } from '../status/status.js';
import type { BuildRef, ModuleVersionRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { runBuildScript } from './scripts.js';
import { failedLogPath } from '../core/stateTree.js';
import { recoverInterruptedInstall } from './installJournal.js';
import { removeEmptyParents, removeOriginalBackup, restoreOriginals } from './originals.js';

async function confFor(ctx: DkmsContext, ref: BuildRef): Promise<DkmsConf | undefined> {
  const [outcome] = await loadConfs(ctx, [ref]);
  if (outcome?.ok) return outcome.conf;
  if (outcome) ctx.reporter.warn(outcome.error.message);
  return undefined;
}

/**
 * dkms uninstall for one kernel: removes the installed files, restores originals, drops the
 * kernel link. Returns whether anything was installed. depmod is the caller's job.
 */
export async function uninstallOne(ctx: DkmsContext, ref: BuildRef): Promise<boolean> {
  ctx.reporter.info(`Module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch}):`);
  recoverInterruptedInstall(ctx, ref);
  if (!ctx.tree.isInstalled(ref)) {
    ctx.reporter.info('This module version was INACTIVE for this kernel.');
    return false;
  }
  ctx.reporter.info('Before uninstall, this module version was ACTIVE on this kernel.');
  const conf = await confFor(ctx, ref);
  const libTree = join(ctx.paths.installTree, ref.kernel);
  const builtDir = ctx.tree.builtModuleDir(ref);
  const names = conf ? conf.modules.map((m) => m.destName) : listBuiltNames(builtDir);
  names.forEach((name, i) => {
    const installed = conf
      ? installedModuleFile(ctx.paths.installTree, ref.kernel, conf, i)
      : undefined;
    if (installed) {
      ctx.reporter.info(`Deleting ${installed}`);
      rmSync(installed, { force: true });
      removeEmptyParents(dirname(installed), libTree);
    } else {
      ctx.reporter.info(`Module ${name}.ko was not found within ${libTree}/`);
    }
  });
  restoreOriginals(ctx, ref);
  rmSync(ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch), { force: true });
  if (conf) await runBuildScript(ctx, ref, 'post_remove', conf.postRemove);
  removeOriginalBackup(ctx, ref);
  return true;
}

function listBuiltNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((name) => /^(.*)\.ko(\.xz|\.zst|\.gz)?$/.exec(name)?.[1])
      .filter((name): name is string => Boolean(name));
  } catch {
    return [];
  }
}

/** dkms unbuild for one kernel: uninstall when installed, then delete the build. */
export async function unbuildOne(
  ctx: DkmsContext,
  ref: BuildRef,
  options: { uninstall: boolean } = { uninstall: true },
): Promise<boolean> {
  let uninstalled = false;
  if (options.uninstall) uninstalled = await uninstallOne(ctx, ref);
  rmSync(failedLogPath(ctx.tree.versionDir(ref), ref.kernel, ref.arch), { force: true });
  if (!ctx.tree.isBuilt(ref)) {
    ctx.reporter.info(
      `Module ${ref.module}/${ref.version} is not built for kernel ${ref.kernel} (${ref.arch}). Skipping...`,
    );
    return uninstalled;
  }
  rmSync(ctx.tree.buildDir(ref), { recursive: true, force: true });
  const kernelDir = join(ctx.tree.versionDir(ref), ref.kernel);
  try {
    if (readdirSync(kernelDir).filter((n) => !n.startsWith('.tmp_')).length === 0)
      rmSync(kernelDir, { recursive: true, force: true });
  } catch {
    // already gone
  }
  return uninstalled;
}

/** After the last kernel is gone: delete `<m>/<v>`, and `<m>` when nothing is left. */
export function removeVersionIfUnused(ctx: DkmsContext, ref: ModuleVersionRef): boolean {
  const dir = ctx.tree.versionDir(ref);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return false;
  }
  for (const name of entries) {
    if (name.startsWith('.tmp_')) rmSync(join(dir, name), { recursive: true, force: true });
  }
  const remaining = entries.filter(
    (name) =>
      !['build', 'tarball', 'driver_disk', 'rpm', 'deb', 'source'].includes(name) &&
      !name.startsWith('.'),
  );
  if (remaining.length > 0) return false;
  ctx.reporter.info(`Deleting module ${ref.module}/${ref.version} completely from the DKMS tree.`);
  rmSync(dir, { recursive: true, force: true });
  const moduleDir = ctx.tree.moduleDir(ref.module);
  try {
    if (readdirSync(moduleDir).length === 0) rmSync(moduleDir, { recursive: true, force: true });
  } catch {
    // already gone
  }
  return true;
}
