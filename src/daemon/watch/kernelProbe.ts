import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isKernelRelease } from '../../util/names.js';

/** A kernel directory of the install tree and where its headers are, if anywhere. */
export interface KernelProbe {
  kernel: string;
  /** The build tree to compile against; undefined while the kernel has no headers. */
  headers: string | undefined;
  /** True when `headers` is not `<install_tree>/<kver>/build` (builds get --kernelsourcedir). */
  headersElsewhere: boolean;
}

/**
 * Where a kernel's headers are: `<install_tree>/<kver>/build` when its Makefile resolves
 * (a dangling link does not count), else `<source_tree>/linux-headers-<kver>` (Debian) or
 * `<source_tree>/kernels/<kver>` (Fedora).
 */
export function probeKernel(installTree: string, sourceTree: string, kernel: string): KernelProbe {
  const build = join(installTree, kernel, 'build');
  if (existsSync(join(build, 'Makefile')))
    return { kernel, headers: build, headersElsewhere: false };
  for (const dir of [
    join(sourceTree, `linux-headers-${kernel}`),
    join(sourceTree, 'kernels', kernel),
  ]) {
    if (existsSync(join(dir, 'Makefile'))) return { kernel, headers: dir, headersElsewhere: true };
  }
  return { kernel, headers: undefined, headersElsewhere: false };
}

/** Every kernel directory of the install tree, probed; one readdir and a few stats each. */
export function probeKernels(installTree: string, sourceTree: string): Map<string, KernelProbe> {
  const found = new Map<string, KernelProbe>();
  let names: string[];
  try {
    names = readdirSync(installTree);
  } catch {
    return found;
  }
  for (const name of names.sort()) {
    if (!isKernelRelease(name)) continue;
    try {
      if (!statSync(join(installTree, name)).isDirectory()) continue;
    } catch {
      continue;
    }
    found.set(name, probeKernel(installTree, sourceTree, name));
  }
  return found;
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
