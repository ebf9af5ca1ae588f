import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfs } from '../conf/loadConf.js';
import type { DkmsContext } from '../core/context.js';
import { DkmsError } from '../core/errors.js';
import { withModuleSession } from './recovery.js';
import { failedLogPath, type BuildRef } from '../core/stateTree.js';
import { invokeDepmod } from './depmod.js';
import { FINISH_STEPS, dropOwed, owedSteps } from '../core/finishLedger.js';
import { unbuildOne } from './remove.js';

function removeEmptyDirs(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) removeEmptyDirs(join(dir, entry.name));
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not empty
  }
}

/**
 * dkms kernel_prerm (every module built for the kernel) and kernel_preinst (AUTOINSTALL ones):
 * each is uninstalled and unbuilt with its depmod left owed in the finish ledger (dkms 3.4's
 * depmod-pending marker), then `Running depmod... done.` once when something was uninstalled.
 */
export async function unbuildForKernel(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
  onlyAutoinstall: boolean,
  action: string,
): Promise<string[]> {
  const builds: BuildRef[] = ctx.tree
    .moduleVersions()
    .flatMap((ref) => ctx.tree.builds(ref, kernel, arch));
  let targets = builds;
  if (onlyAutoinstall) {
    const outcomes = await loadConfs(ctx, builds);
    targets = builds.filter((_, i) => {
      const outcome = outcomes[i];
      return outcome?.ok === true && outcome.conf.autoinstall;
    });
  }
  const failed: string[] = [];
  let changed = false;
  for (const ref of targets) {
    ctx.reporter.error(
      `dkms: removing module ${ref.module}/${ref.version} for kernel ${kernel} (${arch})`,
    );
    try {
      changed =
        (await withModuleSession(ctx, ref.module, () =>
          unbuildOne(ctx, ref, { uninstall: true, depmod: false }),
        )) || changed;
    } catch (error) {
      failed.push(
        `${ref.module}/${ref.version}(${error instanceof DkmsError ? error.exitCode : 1})`,
      );
    }
    // kernel_prerm separates the modules with a blank line; kernel_preinst does not
    if (!onlyAutoinstall) ctx.reporter.info('');
  }
  // also what an earlier, interrupted command left owed (dkms: the marker is there)
  if (changed || owedSteps(ctx.paths.dkmsTree, { kernel, arch }).includes('depmod')) {
    const { line, failure } = await invokeDepmod(ctx, kernel);
    ctx.reporter.info(line);
    if (failure) ctx.reporter.warn(failure.message);
  }
  // A kernel whose module directory is gone owes nothing: there is nothing to index.
  if (!existsSync(join(ctx.paths.installTree, kernel)))
    await dropOwed(ctx.paths.dkmsTree, { kernel, arch }, FINISH_STEPS);
  // The kernel is going (prerm) or being replaced (preinst, its package makes the new
  // initramfs): nothing else is owed to it.
  await dropOwed(ctx.paths.dkmsTree, { kernel, arch }, ['initramfs', 'udev']);
  // Logs of failed builds for this kernel go with it.
  for (const ref of ctx.tree.moduleVersions()) {
    rmSync(failedLogPath(ctx.tree.versionDir(ref), kernel, arch), { force: true });
  }
  const libTree = join(ctx.paths.installTree, kernel);
  for (const entry of (() => {
    try {
      return readdirSync(libTree, { withFileTypes: true });
    } catch {
      return [];
    }
  })()) {
    if (entry.isDirectory()) removeEmptyDirs(join(libTree, entry.name));
  }
  if (failed.length > 0) {
    throw new DkmsError(
      'KERNEL_HOOK_FAILED',
      `dkms ${action} for kernel ${kernel} (${arch}) failed for module(s) ${failed.join(' ')}.`,
    );
  }
  return targets.map((t) => t.module);
}
