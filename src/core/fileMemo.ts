import { statSync } from 'node:fs';

/**
 * A file's identity: device, inode, size, modification and change times (ns). A file that is
 * edited, replaced or renamed over gets a new one, so what was derived from it is recomputed.
 */
export function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * Memoizes what is derived from one file, keyed on its path and identity: safe to keep for the
 * life of a daemon, since a changed file is read again. A missing file is not remembered.
 */
export class FileMemo<T> {
  private readonly entries = new Map<string, { identity: string; value: T }>();

  constructor(private readonly derive: (path: string) => T) {}

  get(path: string): T {
    const identity = fileIdentity(path);
    if (identity === undefined) {
      this.entries.delete(path);
      return this.derive(path);
    }
    const known = this.entries.get(path);
    if (known?.identity === identity) return known.value;
    const value = this.derive(path);
    this.entries.set(path, { identity, value });
    return value;
  }
}
