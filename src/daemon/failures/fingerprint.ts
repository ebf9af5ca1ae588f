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
 * dkms.conf), the conf overrides directory and the kernel headers. A failed build is tried
 * again only when this changes. Package managers replace files by renaming, which changes
 * the directory's mtime. The headers count as their Makefile, the config make reads and the
 * symbol versions: a build started while dpkg was still unpacking them (the Makefile there,
 * include/config/auto.conf not yet) is tried again once they are complete.
 */
export function buildFingerprint(input: {
  sourceDir: string;
  confDir: string;
  headersDir: string;
}): string {
  const source = real(input.sourceDir);
  const headers = real(input.headersDir);
  return [
    source,
    stamp(source),
    stamp(join(source, 'dkms.conf')),
    stamp(input.confDir),
    headers,
    stamp(join(headers, 'Makefile')),
    stamp(join(headers, 'include', 'config', 'auto.conf')),
    stamp(join(headers, 'Module.symvers')),
  ].join('|');
}
