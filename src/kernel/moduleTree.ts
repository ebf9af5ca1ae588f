import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const MODULE_FILE = /\.ko(\.xz|\.zst|\.gz)?$/;

/** Every `*.ko[.xz|.zst|.gz]` file under a kernel's module tree (links are not followed). */
export function moduleFiles(libTree: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && MODULE_FILE.test(entry.name)) found.push(path);
    }
  };
  walk(libTree);
  return found.sort();
}

/** `hello.ko.xz` → `hello`. */
export const moduleFileName = (file: string): string =>
  (file.split('/').pop() ?? file).replace(MODULE_FILE, '');
