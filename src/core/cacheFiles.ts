import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files of dkms-ts's cache directory (V8's code cache, evaluated plain confs): what they
 * hold is run or becomes commands run as root, so one is read only if root (or this user) owns
 * it and nobody else may write it; they are written whole (a temporary renamed over the file)
 * and a temporary left by a writer that was killed goes with the next write. Every failure
 * here only means no cache.
 */

/** The default of DKMS_TS_CACHE_DIR. */
export const DEFAULT_CACHE_DIR = '/var/cache/dkms-ts';

/** The cache directory: DKMS_TS_CACHE_DIR, else /var/cache/dkms-ts. */
export const cacheDirFrom = (env: NodeJS.ProcessEnv = process.env): string =>
  env['DKMS_TS_CACHE_DIR'] || DEFAULT_CACHE_DIR;

/** A cache file's contents, if only root or this user could have written it. */
export function readTrusted(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stat.isFile() || (stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
      return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // not written yet
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `dir/name` whole, as root only (false otherwise, or on any failure: a full disk
 * leaves no temporary behind), then removes temporaries of killed writers of any file there.
 */
export function writeCacheFile(dir: string, name: string, data: string | Uint8Array): boolean {
  if (process.getuid?.() !== 0) return false;
  const file = join(dir, name);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // never made
    }
    return false;
  }
  try {
    for (const entry of readdirSync(dir)) if (leftBehind(entry)) unlinkSync(join(dir, entry));
  } catch {
    // another writer cleaned up first
  }
  return true;
}

/** A temporary of a writer that was killed before its rename (its process is gone). */
export function leftBehind(name: string): boolean {
  const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
  if (!pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
