import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertComponents, joinUnder } from './safePath.js';

/**
 * Read-only view of the dkms state tree (/var/lib/dkms), laid out exactly as dkms 3.x does:
 *
 *   <tree>/<m>/<v>/source -> <source_tree>/<m>-<v>
 *   <tree>/<m>/<v>/<kver>/<arch>/module/*.ko[.xz|.zst|.gz]     built
 *   <tree>/<m>/kernel-<kver>-<arch> -> <v>/<kver>/<arch>      installed
 *   <tree>/<m>/original_module/<kver>/<arch>/                 backed-up originals
 */
export interface ModuleVersionRef {
  module: string;
  version: string;
}

export interface BuildRef extends ModuleVersionRef {
  kernel: string;
  arch: string;
}

/** `<tree>/<m>/<v>/.failed-<kver>-<arch>.make.log`: a dot-file, invisible to dkms's globs. */
export function failedLogPath(versionDir: string, kernel: string, arch: string): string {
  assertComponents(versionDir, kernel, arch);
  return join(versionDir, `.failed-${kernel}-${arch}.make.log`);
}

/** Byte-wise order, as bash globs sort in the C locale. */
export const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort(byteOrder);
  } catch {
    return [];
  }
}

// (no exception for a missing path: `dkms status` asks about many that are not there)
function isDir(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  } catch {
    return false;
  }
}

export class StateTree {
  constructor(
    readonly root: string,
    readonly sourceTree: string,
  ) {}

  /** Paths built from names go through joinUnder: a name can never lead out of the tree. */
  moduleDir(module: string): string {
    return joinUnder(this.root, module);
  }
  versionDir(ref: ModuleVersionRef): string {
    return joinUnder(this.root, ref.module, ref.version);
  }
  sourceLink(ref: ModuleVersionRef): string {
    return join(this.versionDir(ref), 'source');
  }
  buildWorkDir(ref: ModuleVersionRef): string {
    return join(this.versionDir(ref), 'build');
  }
  /** `<tree>/<m>/<v>/<kver>/<arch>` */
  buildDir(ref: BuildRef): string {
    return joinUnder(this.versionDir(ref), ref.kernel, ref.arch);
  }
  builtModuleDir(ref: BuildRef): string {
    return join(this.buildDir(ref), 'module');
  }
  makeLog(ref: BuildRef): string {
    return join(this.buildDir(ref), 'log', 'make.log');
  }
  kernelLink(module: string, kernel: string, arch: string): string {
    assertComponents(this.root, kernel, arch);
    return joinUnder(this.root, module, `kernel-${kernel}-${arch}`);
  }
  originalModuleDir(module: string, kernel: string, arch: string): string {
    return joinUnder(this.root, module, 'original_module', kernel, arch);
  }
  /** `<source_tree>/<m>-<v>` */
  sourceDir(ref: ModuleVersionRef): string {
    assertComponents(this.sourceTree, ref.module, ref.version);
    return joinUnder(this.sourceTree, `${ref.module}-${ref.version}`);
  }
  /** The dkms.conf dkms reads for a module: through the source link. */
  confPath(ref: ModuleVersionRef): string {
    return join(this.sourceLink(ref), 'dkms.conf');
  }

  /** Module names (directories at the top of the tree; dot-names are dkms-ts's own state). */
  modules(): string[] {
    return listDir(this.root).filter(
      (name) => !name.startsWith('.') && isDir(join(this.root, name)),
    );
  }

  /** Versions of a module: directories except kernel-* links and original_module. */
  versions(module: string): string[] {
    const dir = this.moduleDir(module);
    return listDir(dir).filter(
      (name) =>
        name !== 'original_module' &&
        !/^kernel-.*-/.test(name) &&
        !isSymlink(join(dir, name)) &&
        isDir(join(dir, name)),
    );
  }

  /** All module/version pairs, in the order `dkms status` lists them. */
  moduleVersions(module?: string, version?: string): ModuleVersionRef[] {
    const result: ModuleVersionRef[] = [];
    for (const m of module ? [module] : this.modules()) {
      for (const v of this.versions(m)) {
        if (version === undefined || version === v) result.push({ module: m, version: v });
      }
    }
    return result;
  }

  /** dkms 3.4's is_module_added: the source link exists and points at a directory. */
  isAdded(ref: ModuleVersionRef): boolean {
    const link = this.sourceLink(ref);
    return isSymlink(link) && isDir(link);
  }

  /** dkms 3.4's is_module_broken: a dangling source link, or none while the source exists. */
  isBroken(ref: ModuleVersionRef): boolean {
    if (!isDir(this.versionDir(ref))) return false;
    const link = this.sourceLink(ref);
    if (isSymlink(link)) return !isDir(link);
    return isDir(this.sourceDir(ref));
  }

  /** Kernels (directory names starting with a digit) with their arches that have a build dir. */
  builds(ref: ModuleVersionRef, kernel?: string, arch?: string): BuildRef[] {
    const dir = this.versionDir(ref);
    const result: BuildRef[] = [];
    const kernels = kernel ? [kernel] : listDir(dir).filter((name) => /^[0-9]+\./.test(name));
    for (const k of kernels) {
      for (const a of arch ? [arch] : listDir(join(dir, k))) {
        const build = { ...ref, kernel: k, arch: a };
        if (isDir(this.builtModuleDir(build))) result.push(build);
      }
    }
    return result;
  }

  isBuilt(ref: BuildRef): boolean {
    return isDir(this.builtModuleDir(ref));
  }

  /** The version a kernel-<kver>-<arch> link points at, if it points into this module. */
  installedVersion(module: string, kernel: string, arch: string): string | undefined {
    const link = this.kernelLink(module, kernel, arch);
    let target: string;
    try {
      target = readlinkSync(link);
    } catch {
      return undefined;
    }
    const absolute = resolve(this.moduleDir(module), target);
    const parts = absolute.slice(this.moduleDir(module).length + 1).split('/');
    if (parts.length !== 3 || parts[1] !== kernel || parts[2] !== arch) return undefined;
    return isDir(absolute) ? parts[0] : undefined;
  }

  /** dkms's _is_module_installed: the kernel link resolves to this build. */
  isInstalled(ref: BuildRef): boolean {
    return this.installedVersion(ref.module, ref.kernel, ref.arch) === ref.version;
  }

  hasOriginalModules(module: string, kernel: string, arch: string): boolean {
    return isDir(this.originalModuleDir(module, kernel, arch));
  }

  /** Every kernel-<kver>-<arch> link of a module, as [kernel, arch] pairs it can resolve. */
  installLinks(module: string): { kernel: string; arch: string; version: string }[] {
    const result: { kernel: string; arch: string; version: string }[] = [];
    const dir = this.moduleDir(module);
    for (const name of listDir(dir)) {
      if (!name.startsWith('kernel-') || !isSymlink(join(dir, name))) continue;
      let target: string;
      try {
        target = readlinkSync(join(dir, name));
      } catch {
        continue;
      }
      const parts = resolve(dir, target)
        .slice(dir.length + 1)
        .split('/');
      if (parts.length === 3 && parts[0] && parts[1] && parts[2]) {
        result.push({ version: parts[0], kernel: parts[1], arch: parts[2] });
      }
    }
    return result;
  }
}
