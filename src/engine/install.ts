import {
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { DkmsError } from '../core/errors.js';
import { findModuleFile, sameFile } from '../status/status.js';
import { moduleFileName, moduleFiles } from '../kernel/moduleTree.js';
import type { BuildRef } from '../core/stateTree.js';
import { buildModule } from './build.js';
import type { DkmsContext } from '../core/context.js';
import { runBuildScript } from './scripts.js';
import { finishJournal, recordPlaced, recoverInterruptedInstall } from './installJournal.js';
import { runTool } from '../core/exec.js';
import { restoreOriginals } from './originals.js';
import { compareVer } from '../util/version.js';
import { resolveUnder } from '../core/safePath.js';

export interface InstallOptions {
  force?: boolean;
  /** --force-version-override: skip only the version comparison with the kernel's module. */
  forceVersionOverride?: boolean;
}

interface ModuleVersionInfo {
  version: string;
  srcversion: string;
}

async function moduleVersionInfo(file: string): Promise<ModuleVersionInfo> {
  const result = await runTool('modinfo', [file]);
  const field = (name: string): string =>
    new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(result.stdout)?.[1] ?? '';
  return { version: field('version'), srcversion: field('srcversion') };
}

/**
 * dkms 3.4's check_version_sanity: do not replace a module the kernel already has in a newer
 * version, or the very same one (same version and srcversion; for unversioned modules, the
 * same bytes), unless --force / --force-version-override. Returns why not, or undefined.
 */
async function versionConflict(
  builtFile: string,
  libTree: string,
  name: string,
  options: InstallOptions,
): Promise<string | undefined> {
  if (options.force || options.forceVersionOverride) return undefined;
  const existing = findSameNamed(libTree, name);
  const theirsFile = existing[0];
  if (existing.length !== 1 || !theirsFile) return undefined;
  const [theirs, ours] = await Promise.all([
    moduleVersionInfo(theirsFile),
    moduleVersionInfo(builtFile),
  ]);
  if (theirs.version === ours.version) {
    if (theirs.srcversion !== ours.srcversion) return undefined;
    if (!ours.version && !ours.srcversion && !sameFile(theirsFile, builtFile)) return undefined;
    const what = ours.version ? `at version ${ours.version}` : '(unversioned module)';
    return `Module ${theirsFile} already installed ${what}, override by specifying --force`;
  }
  if (compareVer(theirs.version, ours.version) > 0) {
    return `Module version ${ours.version} for ${name}.ko is not newer than what is already found in kernel (${theirs.version}).\nYou may override by specifying --force.`;
  }
  return undefined;
}

export type InstallOutcome = 'installed' | 'already-installed';

/** Every `<name>.ko[.xz|.zst|.gz]` under a kernel's module tree, not following links. */
const findSameNamed = (libTree: string, name: string): string[] =>
  moduleFiles(libTree).filter((file) => moduleFileName(file) === name);

/**
 * Moves a pre-existing module of the same name out of the way (dkms's original_module), with
 * a `.origin` file saying where it came from, so uninstall can put it back.
 */
function backUpOriginal(
  ctx: DkmsContext,
  ref: BuildRef,
  conf: DkmsConf,
  index: number,
  libTree: string,
): void {
  const entry = conf.modules[index];
  if (!entry) return;
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  const activeLink = ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch);
  const linkExists = existsSync(activeLink) || isSymlink(activeLink);
  if (linkExists && findModuleFile(backupDir, entry.destName)) {
    ctx.reporter.info('An original module was already stored during a previous install');
    return;
  }
  if (linkExists) return;
  const candidates = [
    findModuleFile(join(libTree, 'extra'), entry.destName),
    findModuleFile(join(libTree, 'updates'), entry.destName),
    findModuleFile(libTree + entry.destLocation, entry.destName),
    ...findSameNamed(libTree, entry.destName),
  ];
  const original = candidates.find(
    (file): file is string => file !== undefined && existsSync(file),
  );
  if (!original) return;
  ctx.reporter.info(`Found pre-existing ${original}, archiving for uninstallation`);
  mkdirSync(backupDir, { recursive: true });
  // The record first: a crash between the two leaves the original in place, not lost.
  writeFileSync(join(backupDir, `${basename(original)}.origin`), `${original}\n`);
  renameSync(original, join(backupDir, basename(original)));
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Copies into place under a temporary name, then renames: never a half-written .ko. */
function placeModule(from: string, to: string, symlink: boolean): void {
  mkdirSync(dirname(to), { recursive: true });
  const temp = join(dirname(to), `.${basename(to)}.dkms-${process.pid}.tmp`);
  rmSync(temp, { force: true });
  if (symlink) symlinkSync(from, temp);
  else copyFileSync(from, temp);
  renameSync(temp, to);
}

/**
 * dkms install for one kernel (building first when needed). depmod is the caller's job, so
 * a command that installs several modules runs it once per kernel.
 */
export async function installModule(
  ctx: DkmsContext,
  ref: BuildRef,
  options: InstallOptions = {},
): Promise<InstallOutcome> {
  if (ctx.tree.isBuilt(ref)) recoverInterruptedInstall(ctx, ref);
  if (ctx.tree.isBuilt(ref) && ctx.tree.isInstalled(ref)) {
    if (!options.force) {
      ctx.reporter.info(
        `Module ${ref.module}/${ref.version} already installed on kernel ${ref.kernel} (${ref.arch}), skip. You may override by specifying --force.`,
      );
      return 'already-installed';
    }
    const { uninstallOne } = await import('./remove.js');
    await uninstallOne(ctx, ref);
  }
  if (!ctx.tree.isBuilt(ref)) await buildModule(ctx, ref);
  const libTree = join(ctx.paths.installTree, ref.kernel);
  if (!existsSync(libTree)) {
    throw new DkmsError(
      'NO_KERNEL',
      `The directory ${libTree} doesn't exist.\nYou cannot install a module onto a non-existent kernel.`,
    );
  }
  const conf = await loadConfOrThrow(ctx, ref);
  const builtDir = ctx.tree.builtModuleDir(ref);
  const files = conf.modules.map((entry) => {
    const file = findModuleFile(builtDir, entry.destName);
    if (!file) throw new DkmsError('NOT_BUILT', `Missing module ${entry.destName} in ${builtDir}`);
    return file;
  });
  const pre = await runBuildScript(ctx, ref, 'pre_install', conf.preInstall);
  if (pre !== undefined && pre !== 0 && !options.force) {
    throw new DkmsError('PRE_INSTALL_FAILED', 'pre_install failed, aborting install.', {
      hint: 'You may override by specifying --force.',
    });
  }
  const skip = new Set<number>();
  for (const [i, entry] of conf.modules.entries()) {
    const conflict = await versionConflict(files[i] ?? '', libTree, entry.destName, options);
    if (conflict) {
      ctx.reporter.error(conflict);
      skip.add(i);
    }
  }
  if (conf.modules.length > 0 && skip.size === conf.modules.length) {
    throw new DkmsError('INSTALL_FAILED', 'Installation aborted.');
  }
  const placed: string[] = [];
  try {
    conf.modules.forEach((entry, i) => {
      if (skip.has(i)) return;
      const from = files[i] ?? '';
      const to = join(
        resolveUnder(libTree, entry.destLocation, 'DEST_MODULE_LOCATION'),
        basename(from),
      );
      backUpOriginal(ctx, ref, conf, i, libTree);
      ctx.reporter.info(`Installing ${to}`);
      recordPlaced(ctx, ref, [...placed, to]);
      placeModule(from, to, Boolean(ctx.framework.symlink_modules));
      placed.push(to);
    });
  } catch (error) {
    for (const file of placed) rmSync(file, { force: true });
    finishJournal(ctx, ref);
    restoreOriginals(ctx, ref);
    throw error instanceof DkmsError
      ? error
      : new DkmsError(
          'INSTALL_FAILED',
          `Installing ${ref.module}/${ref.version} failed: ${String(error)}`,
          { cause: error },
        );
  }
  const link = ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch);
  rmSync(link, { force: true });
  symlinkSync(`${ref.version}/${ref.kernel}/${ref.arch}`, link);
  finishJournal(ctx, ref);
  await runBuildScript(ctx, ref, 'post_install', conf.postInstall);
  return 'installed';
}
