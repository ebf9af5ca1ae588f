import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** Every regular file under `dir` whose name `wanted` accepts (links are not followed). */
export function filesUnder(dir: string, wanted: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
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
  return found.sort();
}

/** Every `*.ko[.xz|.zst|.gz]` file under a kernel's module tree (links are not followed). */
export const moduleFiles = (libTree: string): string[] =>
  filesUnder(libTree, (name) => MODULE_FILE.test(name));

/** `hello.ko.xz` → `hello`. */
export const moduleFileName = (file: string): string =>
  (file.split('/').pop() ?? file).replace(MODULE_FILE, '');
