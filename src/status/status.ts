import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { BuildRef, ModuleVersionRef, StateTree } from '../core/stateTree.js';

export type ModuleState = 'added' | 'broken' | 'built' | 'installed';

export const ANNOTATIONS = {
  originalModules: 'Original modules exist',
  builtMissing: 'Built modules are missing in the kernel modules folder',
  differs: 'Differences between built and installed modules',
} as const;
export type Annotation = (typeof ANNOTATIONS)[keyof typeof ANNOTATIONS];

export interface StatusEntry extends ModuleVersionRef {
  state: ModuleState;
  kernel?: string;
  arch?: string;
  annotations: Annotation[];
}

export interface StatusFilter {
  module?: string | undefined;
  version?: string | undefined;
  kernel?: string | undefined;
  arch?: string | undefined;
}

/** The entries before annotations: what the tree alone says (no conf needed). */
export function collectStatus(tree: StateTree, filter: StatusFilter): StatusEntry[] {
  const entries: StatusEntry[] = [];
  for (const ref of tree.moduleVersions(filter.module, filter.version)) {
    if (tree.isBroken(ref)) {
      entries.push({ ...ref, state: 'broken', annotations: [] });
      continue;
    }
    if (!tree.isAdded(ref)) continue;
    const builds = tree.builds(ref, filter.kernel, filter.arch);
    if (builds.length === 0) {
      entries.push({ ...ref, state: 'added', annotations: [] });
      continue;
    }
    for (const build of builds) {
      entries.push({
        ...build,
        state: tree.isInstalled(build) ? 'installed' : 'built',
        annotations: [],
      });
    }
  }
  return entries;
}

const SUFFIXES = ['.ko', '.ko.xz', '.ko.zst', '.ko.gz'];

/** dkms's compressed_or_uncompressed: `<dir>/<name>.ko`, else a compressed variant. */
export function findModuleFile(dir: string, name: string): string | undefined {
  for (const suffix of SUFFIXES) {
    const path = join(dir, name + suffix);
    try {
      if (statSync(path, { throwIfNoEntry: false })?.isFile()) return path;
    } catch {
      // not readable: try the next suffix
    }
  }
  return undefined;
}

const compareBuffers = [Buffer.allocUnsafe(65536), Buffer.allocUnsafe(65536)] as const;

/** Byte equality without reading both files whole when sizes already differ. */
export function sameFile(a: string, b: string): boolean {
  let sa, sb;
  try {
    sa = statSync(a);
    sb = statSync(b);
  } catch {
    return false;
  }
  if (sa.size !== sb.size) return false;
  if (sa.ino === sb.ino && sa.dev === sb.dev) return true;
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    const [ba, bb] = compareBuffers;
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** Where an installed module really is: the remapped location, else the declared one. */
export function installedModuleFile(
  installTree: string,
  kernel: string,
  conf: DkmsConf,
  index: number,
): string | undefined {
  const entry = conf.modules[index];
  if (!entry) return undefined;
  const locations = [entry.destLocation];
  if (entry.declaredDestLocation && entry.declaredDestLocation !== entry.destLocation)
    locations.push(entry.declaredDestLocation);
  for (const location of locations) {
    const file = findModuleFile(join(installTree, kernel + location), entry.destName);
    if (file) return file;
  }
  return undefined;
}

/** dkms 3.4's module_status_built_extra for one built entry. */
export function annotate(
  tree: StateTree,
  installTree: string,
  entry: BuildRef & { state: ModuleState },
  conf: DkmsConf | undefined,
): Annotation[] {
  const annotations: Annotation[] = [];
  if (tree.hasOriginalModules(entry.module, entry.kernel, entry.arch))
    annotations.push(ANNOTATIONS.originalModules);
  if (!conf || conf.exclusion) return annotations;
  const builtDir = tree.builtModuleDir(entry);
  for (let i = 0; i < conf.modules.length; i++) {
    const module = conf.modules[i];
    if (!module || module.excluded) continue;
    const built = findModuleFile(builtDir, module.destName);
    if (!built) {
      annotations.push(ANNOTATIONS.builtMissing);
      break;
    }
    if (entry.state === 'installed') {
      const installed = installedModuleFile(installTree, entry.kernel, conf, i);
      if (!installed || !sameFile(built, installed)) {
        annotations.push(ANNOTATIONS.differs);
        break;
      }
    }
  }
  return annotations;
}

/** One `dkms status` line. */
export function formatStatusLine(entry: StatusEntry): string {
  if (entry.state === 'added' || entry.state === 'broken')
    return `${entry.module}/${entry.version}: ${entry.state}`;
  const notes = entry.annotations.map((a) => ` (${a})`).join('');
  return `${entry.module}/${entry.version}, ${entry.kernel ?? ''}, ${entry.arch ?? ''}: ${entry.state}${notes}`;
}

export const brokenMessage = (entry: ModuleVersionRef): string =>
  `\nError! ${entry.module}/${entry.version}: Missing the module source directory or the symbolic link pointing to it.\nManual intervention is required!`;
