import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { restoreOriginals } from './originals.js';

/**
 * While an install runs, `<tree>/<m>/<v>/<kver>/<arch>/.install-journal` lists the module
 * files it has put into the install tree. The kernel link is written last and the journal
 * removed after it, so a journal left behind means an install was interrupted: the next
 * install or uninstall takes those files out and puts the originals back first.
 */
export const journalPath = (ctx: DkmsContext, ref: BuildRef): string =>
  join(ctx.tree.buildDir(ref), '.install-journal');

export function recordPlaced(ctx: DkmsContext, ref: BuildRef, placed: readonly string[]): void {
  const path = journalPath(ctx, ref);
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ placed })}\n`);
  renameSync(`${path}.tmp`, path);
}

export function finishJournal(ctx: DkmsContext, ref: BuildRef): void {
  rmSync(journalPath(ctx, ref), { force: true });
}

/** Undoes what an interrupted install left; returns whether there was anything to undo. */
export function recoverInterruptedInstall(ctx: DkmsContext, ref: BuildRef): boolean {
  const path = journalPath(ctx, ref);
  if (!existsSync(path)) return false;
  let placed: string[] = [];
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { placed?: unknown };
    if (Array.isArray(parsed.placed))
      placed = parsed.placed.filter((p): p is string => typeof p === 'string');
  } catch {
    placed = [];
  }
  ctx.reporter.warn(
    `An earlier install of ${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch}) was interrupted; undoing it first.`,
  );
  if (!ctx.tree.isInstalled(ref)) {
    for (const file of placed) {
      ctx.reporter.info(`Removing ${file}`);
      rmSync(file, { force: true });
    }
    restoreOriginals(ctx, ref);
  }
  rmSync(path, { force: true });
  return true;
}
