import { moduleFiles } from '../kernel/moduleTree.js';
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

/** The name the kernel knows a module by: file name without .ko[.*], `-` as `_`. */
export const moduleNameOf = (path: string): string =>
  basename(path)
    .replace(/\.ko(\.gz|\.xz|\.zst)?$/, '')
    .replace(/-/g, '_');

/** modules.dep: module path (relative to `/lib/modules/<kver>`) -> its dependencies. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const deps = line.slice(colon + 1).trim();
    entries.set(line.slice(0, colon).trim(), deps ? deps.split(/\s+/) : []);
  }
  return entries;
}

/** modules.dep keys by module name (there is one per name: depmod keeps the winner). */
export function depByName(dep: ReadonlyMap<string, string[]>): Map<string, string> {
  const byName = new Map<string, string>();
  for (const path of dep.keys()) byName.set(moduleNameOf(path), path);
  return byName;
}

/** modules.builtin lists `kernel/.../name.ko` for every module built into the kernel image. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => moduleNameOf(line.trim())),
  );
}

export function readTextOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every module file in a kernel's tree by module name (paths relative to the tree; links not followed). */
export function modulesByName(libTree: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const path of moduleFiles(libTree)) {
    const name = moduleNameOf(path.split('/').pop() ?? path);
    byName.set(name, [...(byName.get(name) ?? []), relative(libTree, path)]);
  }
  return byName;
}
