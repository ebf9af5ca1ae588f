import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether modules can be built against a kernel build tree (its headers):
 * - `ready`: the Makefile, include/, the kernel config (include/config/auto.conf or .config)
 *   and scripts/ are all there;
 * - `missing`: no include/ (dkms's own test: "Your kernel headers ... cannot be found");
 * - `incomplete`: some of them are there, not all: a package manager is still unpacking it
 *   (dpkg puts linux-headers' `build` link before its scripts/ and tools/ links) or the
 *   package is broken. `missing` names what is absent, relative to the tree.
 */
export type HeadersState =
  { state: 'ready' } | { state: 'missing' } | { state: 'incomplete'; missing: string[] };

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The one rule for "can we build against these headers", for dkms and dkmsd alike. */
export function headersState(dir: string): HeadersState {
  if (!existsSync(join(dir, 'include'))) return { state: 'missing' };
  const missing: string[] = [];
  if (!existsSync(join(dir, 'Makefile'))) missing.push('Makefile');
  if (!isDir(join(dir, 'include'))) missing.push('include/');
  if (!existsSync(join(dir, 'include', 'config', 'auto.conf')) && !existsSync(join(dir, '.config')))
    missing.push('include/config/auto.conf');
  if (!isDir(join(dir, 'scripts'))) missing.push('scripts/');
  return missing.length === 0 ? { state: 'ready' } : { state: 'incomplete', missing };
}

/**
 * A stamp of the directories of header trees (device, inode, change time and size of each,
 * symlinks not followed): any file created, renamed or removed anywhere in them changes it,
 * which dpkg does for every file it unpacks. Two equal stamps some time apart mean an unpack
 * has gone quiet; a failed build's stamp tells whether it saw these same headers.
 */
export function headersStamp(dirs: readonly string[]): string {
  const parts: string[] = [];
  const walk = (dir: string): void => {
    let st;
    try {
      st = lstatSync(dir, { bigint: true });
    } catch {
      parts.push(`${dir}:-`);
      return;
    }
    parts.push(`${dir}:${st.dev}:${st.ino}:${st.ctimeNs}:${st.size}`);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  for (const dir of dirs) {
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      // gone: stamped as such
    }
    walk(real);
  }
  return parts.join('|');
}
