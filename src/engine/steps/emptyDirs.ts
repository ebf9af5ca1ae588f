import { readdirSync, rmdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';

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
