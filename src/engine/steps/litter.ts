import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StateTree } from '../../core/stateTree.js';
import { JOURNAL_NAME } from './journal.js';

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** A temporary name the step runner gives a file next to its final place. */
export const isStepTemporary = (name: string): boolean =>
  name.startsWith('.') && /\.dkms-[\w-]+\.tmp$/.test(name);

/**
 * What interrupted commands leave in a module's part of the dkms tree and nobody would
 * otherwise delete: build staging directories `<m>/<v>/<kver>/.tmp_*` (and `<m>/<v>/.tmp_*`),
 * the journal's temporary file, temporary kernel links, kernel directories they leave empty,
 * a module directory left empty.
 * Only litter while nobody holds the module's lock (a build in progress owns its staging dir).
 */
export function findModuleLitter(tree: StateTree, module: string): string[] {
  const moduleDir = tree.moduleDir(module);
  const found: string[] = [];
  const names = list(moduleDir);
  if (names.length === 0 && isDir(moduleDir)) return [moduleDir];
  for (const name of names) {
    const path = join(moduleDir, name);
    if (name === `${JOURNAL_NAME}.tmp` || isStepTemporary(name)) {
      found.push(path);
      continue;
    }
    if (name.startsWith('.') || name === 'original_module' || !isDir(path)) continue;
    for (const entry of list(path)) {
      const inVersion = join(path, entry);
      if (entry.startsWith('.tmp_')) {
        found.push(inVersion);
        continue;
      }
      if (!/^[0-9]+\./.test(entry) || !isDir(inVersion)) continue;
      const kernelEntries = list(inVersion);
      const staging = kernelEntries.filter((n) => n.startsWith('.tmp_'));
      found.push(...staging.map((n) => join(inVersion, n)));
      if (staging.length === kernelEntries.length) found.push(inVersion);
    }
  }
  return found;
}

/** Deletes what `findModuleLitter` found (the caller holds the module's lock). */
export function removeLitter(paths: readonly string[]): void {
  for (const path of paths) rmSync(path, { recursive: true, force: true });
}
