import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

const stamp = (path: string): string => {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${Math.trunc(st.mtimeMs)}`;
  } catch {
    return '-';
  }
};

const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * What a build's outcome depends on, cheaply: the module source (its directory and
 * dkms.conf), the conf overrides directory and the kernel headers (every directory of their
 * trees: headers that were still being unpacked when the build failed have changed since).
 * A failed build is tried again only when this changes. Package managers replace files by
 * renaming, which changes the directory's mtime.
 */
export function buildFingerprint(input: {
  sourceDir: string;
  confDir: string;
  /** The stamp of the headers' trees (kernel/headers.ts headersStamp). */
  headersStamp: string;
}): string {
  const source = real(input.sourceDir);
  return [
    source,
    stamp(source),
    stamp(join(source, 'dkms.conf')),
    stamp(input.confDir),
    createHash('sha256').update(input.headersStamp).digest('hex').slice(0, 32),
  ].join('|');
}
