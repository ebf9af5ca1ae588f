import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { headersState } from '../../kernel/headers.js';
import { installedKernels } from '../../kernel/kernels.js';

/** A kernel directory of the install tree and where its headers are, if anywhere. */
export interface KernelProbe {
  kernel: string;
  /** The build tree to compile against; undefined while the kernel has no ready headers. */
  headers: string | undefined;
  /** True when `headers` is not `<install_tree>/<kver>/build` (builds get --kernelsourcedir). */
  headersElsewhere: boolean;
  /**
   * Headers that are there but not ready (kernel/headers.ts): still being unpacked, or
   * broken. `watch` are the directories where what is missing should appear.
   */
  incomplete?: { dir: string; missing: string[]; watch: string[] } | undefined;
}

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The nearest directory that exists on the way to `path` inside `root`. */
function nearestDir(root: string, path: string): string {
  let dir = dirname(path);
  while (dir.length > root.length && !isDir(dir)) dir = dirname(dir);
  return dir;
}

/**
 * Where a kernel's headers are: `<install_tree>/<kver>/build`, else
 * `<source_tree>/linux-headers-<kver>` (Debian) or `<source_tree>/kernels/<kver>` (Fedora),
 * the first that is ready to build against (kernel/headers.ts: the rule dkms uses too). A
 * tree that is there but not ready is reported as `incomplete`.
 */
export function probeKernel(installTree: string, sourceTree: string, kernel: string): KernelProbe {
  const candidates = [
    { dir: join(installTree, kernel, 'build'), elsewhere: false },
    { dir: join(sourceTree, `linux-headers-${kernel}`), elsewhere: true },
    { dir: join(sourceTree, 'kernels', kernel), elsewhere: true },
  ];
  let incomplete: KernelProbe['incomplete'];
  for (const { dir, elsewhere } of candidates) {
    if (!isDir(dir)) continue;
    const state = headersState(dir);
    if (state.state === 'ready') return { kernel, headers: dir, headersElsewhere: elsewhere };
    if (incomplete) continue;
    const missing = state.state === 'missing' ? ['include/'] : state.missing;
    const watch = [...new Set(missing.map((item) => nearestDir(dir, join(dir, item))))];
    incomplete = { dir, missing, watch };
  }
  return { kernel, headers: undefined, headersElsewhere: false, incomplete };
}

/** Every kernel directory of the install tree, probed; one readdir and a few stats each. */
export function probeKernels(installTree: string, sourceTree: string): Map<string, KernelProbe> {
  return new Map(
    installedKernels(installTree).map((name) => [name, probeKernel(installTree, sourceTree, name)]),
  );
}

export interface KernelChanges {
  /** Buildable now and not before (new, or its headers arrived or moved). */
  buildable: KernelProbe[];
  /** Directories that are gone. */
  removed: string[];
  /** Present without headers: worth watching for a `build` link to appear. */
  waitingForHeaders: string[];
  /** Still present, but the headers they had are gone. */
  headersLost: string[];
}

/**
 * Whether a kernel directory is only what is left after its packages went: no image, no
 * in-tree modules (dpkg leaves `/lib/modules/<kver>` behind while dkms's files are in it).
 */
export function kernelLooksGone(installTree: string, bootDir: string, kernel: string): boolean {
  const dir = join(installTree, kernel);
  return ![
    join(dir, 'modules.builtin'),
    join(dir, 'kernel'),
    join(dir, 'vmlinuz'),
    join(bootDir, `vmlinuz-${kernel}`),
  ].some((path) => existsSync(path));
}

/** What changed between two looks at the install tree. Pure. */
export function diffKernels(
  before: ReadonlyMap<string, KernelProbe>,
  after: ReadonlyMap<string, KernelProbe>,
): KernelChanges {
  const changes: KernelChanges = {
    buildable: [],
    removed: [],
    waitingForHeaders: [],
    headersLost: [],
  };
  for (const [kernel, probe] of after) {
    if (probe.headers === undefined) {
      changes.waitingForHeaders.push(kernel);
      if (before.get(kernel)?.headers !== undefined) changes.headersLost.push(kernel);
    } else if (before.get(kernel)?.headers !== probe.headers) changes.buildable.push(probe);
  }
  for (const kernel of before.keys()) if (!after.has(kernel)) changes.removed.push(kernel);
  return changes;
}
