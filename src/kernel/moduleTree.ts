import { opendirSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** A directory's entries in the file system's own order, as readdir(3) (and find) see them. */
function entriesInDirectoryOrder(path: string): Dirent[] {
  const dir = opendirSync(path);
  const entries: Dirent[] = [];
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) entries.push(entry);
  } finally {
    dir.closeSync();
  }
  return entries;
}

/**
 * Every regular file under `dir` whose name `wanted` accepts (links are not followed), sorted;
 * `inFindOrder`: in the order find(1) lists them (each directory's own order, depth first;
 * readdirSync sorts, so the directory is read entry by entry).
 */
export function filesUnder(
  dir: string,
  wanted: (name: string) => boolean,
  inFindOrder = false,
): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    let entries;
    try {
      entries = inFindOrder
        ? entriesInDirectoryOrder(path)
        : readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && wanted(entry.name)) found.push(child);
    }
  };
  walk(dir);
  return inFindOrder ? found : found.sort();
}

/** Every `*.ko[.xz|.zst|.gz]` file under a kernel's module tree (links are not followed). */
export const moduleFiles = (libTree: string, inFindOrder = false): string[] =>
  filesUnder(libTree, (name) => MODULE_FILE.test(name), inFindOrder);

/** `hello.ko.xz` → `hello`. */
export const moduleFileName = (file: string): string =>
  (file.split('/').pop() ?? file).replace(MODULE_FILE, '');
