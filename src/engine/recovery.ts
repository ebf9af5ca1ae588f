import { existsSync } from 'node:fs';
import type { DkmsContext } from '../core/context.js';
import { toDkmsError } from '../core/errors.js';
import { lockModule } from '../core/lock.js';
import { payKernelDepmod } from './depmod.js';
import { clearJournal, journalPath, readJournal, type Journal } from './steps/journal.js';
import { findModuleLitter, removeLitter } from './steps/litter.js';
import { resumeJournal } from './steps/stepRunner.js';

/** What the recovery of one module did. */
export interface ModuleRecovery {
  module: string;
  /** The interrupted plan that was finished or rolled back (its title). */
  resumed: string | undefined;
  /** Leftovers deleted. */
  litter: string[];
  /** Kernels depmod ran for because the interrupted plan changed their tree. */
  depmod: string[];
}

/**
 * Puts a module's part of the trees back in order after an interrupted command: finishes
 * (or finishes rolling back) the plan its journal holds, runs the depmod that plan owed,
 * and deletes staging directories and temporary files. The caller holds the module's lock.
 */
export async function recoverModule(ctx: DkmsContext, module: string): Promise<ModuleRecovery> {
  const result: ModuleRecovery = { module, resumed: undefined, litter: [], depmod: [] };
  const path = journalPath(ctx.tree.moduleDir(module));
  const journal = readJournal(path);
  if (journal === 'unreadable') {
    ctx.reporter.warn(`The journal ${path} cannot be read; removing it.`);
    clearJournal(path);
  } else if (journal) {
    result.resumed = journal.title;
    const doing = journal.mode === 'undo' ? 'rolling it back' : 'completing it';
    ctx.reporter.warn(`An earlier ${journal.title} was interrupted; ${doing} first.`);
    try {
      const { depmodOwed } = await resumeJournal(ctx, module, journal);
      if (ctx.depmod) result.depmod = [...depmodOwed];
    } catch (error) {
      ctx.reporter.warn(
        `The interrupted ${journal.title} could not be completed (${toDkmsError(error).message}); it was rolled back where possible.`,
      );
    }
  }
  for (const kernel of result.depmod) {
    try {
      await payKernelDepmod(ctx, kernel);
    } catch (error) {
      ctx.reporter.warn(toDkmsError(error).message);
    }
  }
  result.litter = findModuleLitter(ctx.tree, module);
  for (const leftover of result.litter) ctx.reporter.verbose(`Removing leftover ${leftover}`);
  removeLitter(result.litter);
  return result;
}

/** Whether a module has anything for `recoverModule` to do (read-only, no lock). */
export const needsRecovery = (ctx: DkmsContext, module: string): boolean =>
  existsSync(journalPath(ctx.tree.moduleDir(module))) ||
  findModuleLitter(ctx.tree, module).length > 0;

/**
 * Takes a module's lock, recovers what an interrupted command left, then runs `body`:
 * every command that changes a module goes through here.
 */
export function withModuleSession<T>(
  ctx: DkmsContext,
  module: string,
  body: () => Promise<T>,
): Promise<T> {
  return lockModule(ctx, module, async () => {
    if (needsRecovery(ctx, module)) await recoverModule(ctx, module);
    return body();
  });
}

/**
 * Recovers every module of the dkms tree that needs it, each under its lock. dkmsd calls
 * this at start-up, before it plans anything.
 */
export async function recoverAllModules(ctx: DkmsContext): Promise<ModuleRecovery[]> {
  const results: ModuleRecovery[] = [];
  for (const module of ctx.tree.modules()) {
    if (!needsRecovery(ctx, module)) continue;
    results.push(await lockModule(ctx, module, () => recoverModule(ctx, module)));
  }
  return results;
}

/** What the next command on a module would recover first (for --dry-run and doctor). */
export function pendingRecovery(
  ctx: DkmsContext,
  module: string,
): { journal: Journal | 'unreadable' | undefined; litter: string[] } {
  return {
    journal: readJournal(journalPath(ctx.tree.moduleDir(module))),
    litter: findModuleLitter(ctx.tree, module),
  };
}
