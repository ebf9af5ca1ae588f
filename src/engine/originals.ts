import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DkmsContext } from '../core/context.js';
import type { BuildRef } from '../core/stateTree.js';

/** Removes `from` and its parents while they are empty, up to (not including) `stopAt`. */
export function removeEmptyParents(from: string, stopAt: string): void {
  let dir = from;
  while (
    dir !== stopAt &&
    relative(stopAt, dir) !== '' &&
    !relative(stopAt, dir).startsWith('..')
  ) {
    try {
      if (readdirSync(dir).length > 0) return;
      rmdirSync(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

/** Puts back every module install moved aside, using its `.origin` record. */
export function restoreOriginals(ctx: DkmsContext, ref: BuildRef): void {
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  const libTree = join(ctx.paths.installTree, ref.kernel);
  let names: string[];
  try {
    names = readdirSync(backupDir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith('.origin'))) {
    const saved = join(backupDir, name.slice(0, -'.origin'.length));
    if (!existsSync(saved)) continue;
    const original = readFileSync(join(backupDir, name), 'utf8').split('\n')[0] ?? '';
    const rel = relative(libTree, original);
    if (!original || rel.startsWith('..') || rel.startsWith('/')) {
      ctx.reporter.warn(`Bad original location '${original}' in ${join(backupDir, name)}`);
      continue;
    }
    ctx.reporter.info(`Restoring archived original module ${original}`);
    mkdirSync(dirname(original), { recursive: true });
    renameSync(saved, original);
    rmSync(join(backupDir, name), { force: true });
  }
}

export function removeOriginalBackup(ctx: DkmsContext, ref: BuildRef): void {
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  if (!existsSync(backupDir)) return;
  ctx.reporter.info(
    `Removing original module(s) from DKMS tree for kernel ${ref.kernel} (${ref.arch})`,
  );
  rmSync(backupDir, { recursive: true, force: true });
  const root = join(ctx.tree.moduleDir(ref.module), 'original_module');
  removeEmptyParents(dirname(backupDir), dirname(root));
}
