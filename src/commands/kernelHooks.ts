import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { failedLogPath } from '../tree/stateTree.js';
import { join } from 'node:path';
import { loadConfs } from '../conf/loadConf.js';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../engine/context.js';
import { unbuildOne } from '../engine/remove.js';
import type { BuildRef } from '../tree/stateTree.js';
import { autoinstall } from './autoinstall.js';
import { depmodAll, kernelArches, lockModule, requireRootForSystemTree } from './common.js';
import type { Command } from './types.js';

function oneKernel(
  ctx: DkmsContext,
  args: Parameters<Command>[1],
  action: string,
): { kernel: string; arch: string } {
  if (args.kernels.length !== 1) {
    throw new DkmsError(
      'USAGE',
      `The action ${action} requires exactly one kernel version parameter on the command line.`,
      { exitCode: 4 },
    );
  }
  const [target] = kernelArches(ctx, args, undefined, action);
  if (!target)
    throw new DkmsError('USAGE', `The action ${action} needs -k KERNEL.`, { exitCode: 4 });
  return target;
}

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

/** Unbuilds modules built for one kernel (all of them, or only AUTOINSTALL ones), one depmod. */
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
      changed = (await lockModule(ctx, ref.module, () => unbuildOne(ctx, ref))) || changed;
    } catch (error) {
      failed.push(
        `${ref.module}/${ref.version}(${error instanceof DkmsError ? error.exitCode : 1})`,
      );
    }
  }
  if (changed) await depmodAll(ctx, [kernel]);
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

export const kernelPostinst: Command = (ctx, args) => {
  oneKernel(ctx, args, 'kernel_postinst');
  return autoinstall(ctx, args);
};

export const kernelPreinst: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  const { kernel, arch } = oneKernel(ctx, args, 'kernel_preinst');
  await unbuildForKernel(ctx, kernel, arch, true, 'kernel_preinst');
  return { exitCode: 0 };
};

export const kernelPrerm: Command = async (ctx, args) => {
  requireRootForSystemTree(ctx);
  const { kernel, arch } = oneKernel(ctx, args, 'kernel_prerm');
  await unbuildForKernel(ctx, kernel, arch, false, 'kernel_prerm');
  return { exitCode: 0 };
};
