import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import { DkmsError, toDkmsError } from '../core/errors.js';
import { findModuleFile } from '../status/status.js';
import { moduleFileName, moduleFiles } from '../kernel/moduleTree.js';
import type { BuildRef } from '../core/stateTree.js';
import { buildModule } from './build.js';
import type { DkmsContext } from '../core/context.js';
import { resolveUnder } from '../core/safePath.js';
import { checkVersionSanity } from './versionSanity.js';
import { planInstall, type InstallFacts, type InstallModuleFacts } from './installPlan.js';
import { planUninstallFor, uninstallOne } from './remove.js';
import type { EngineStep } from './steps/engineStep.js';
import { runEnginePlan } from './steps/stepRunner.js';
import { finishOwedBy } from './depmod.js';

export interface InstallOptions {
  force?: boolean;
  /** --force-version-override: skip only the version comparison with the kernel's module. */
  forceVersionOverride?: boolean;
  /**
   * End with dkms's `Running depmod... done.` and depmod for the kernel (printed even with
   * --no-depmod, as dkms), rolling the install back when it fails: dkms install, autoinstall
   * and match. dkmsd leaves it out and finishes each kernel once.
   * @default false
   */
  depmod?: boolean;
}

export type InstallOutcome = 'installed' | 'already-installed';

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** `.<file>.dkms-<tag>.tmp` files an interrupted copy of `file` left in its directory. */
function staleTemporaries(dir: string, file: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith(`.${file}.dkms-`) && name.endsWith('.tmp'))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/**
 * Reads everything install decides from: the built files, the same-named modules already
 * in the kernel's tree, the version check, the kernel link. `predicted`: the module is not
 * built yet (--dry-run), so built files are where the build will put them and the version
 * check is left to the real run.
 */
export async function gatherInstallFacts(
  ctx: DkmsContext,
  ref: BuildRef,
  options: InstallOptions & { predicted?: boolean } = {},
): Promise<InstallFacts> {
  const libTree = join(ctx.paths.installTree, ref.kernel);
  const conf = await loadConfOrThrow(ctx, ref);
  const builtDir = ctx.tree.builtModuleDir(ref);
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  const kernelLink = ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch);
  const modules: InstallModuleFacts[] = [];
  // in find(1)'s order: dkms archives and compares the first one find lists
  const kernelModules = moduleFiles(libTree, true);
  const sameNamed = (name: string): string[] =>
    kernelModules.filter((file) => moduleFileName(file) === name);
  // a module BUILD_EXCLUSIVE_*[i] excludes was never collected: nothing to install
  for (const entry of conf.modules.filter((m) => !m.excluded)) {
    let built = findModuleFile(builtDir, entry.destName);
    if (!built && options.predicted) built = join(builtDir, `${entry.destName}.ko`);
    if (!built) throw new DkmsError('NOT_BUILT', `Missing module ${entry.destName} in ${builtDir}`);
    const destDir = resolveUnder(libTree, entry.destLocation, 'DEST_MODULE_LOCATION');
    const candidates = [
      findModuleFile(join(libTree, 'extra'), entry.destName),
      findModuleFile(join(libTree, 'updates'), entry.destName),
      findModuleFile(destDir, entry.destName),
      ...sameNamed(entry.destName),
    ];
    const sanity = options.predicted
      ? {}
      : await checkVersionSanity({
          kernel: ref.kernel,
          name: entry.destName,
          builtFile: built,
          kernelModules,
          force: Boolean(options.force),
          forceVersionOverride: Boolean(options.forceVersionOverride),
        });
    modules.push({
      destName: entry.destName,
      built,
      destDir,
      conflict: sanity.refusal,
      original: candidates.find((file): file is string => file !== undefined && existsSync(file)),
      backedUp: findModuleFile(backupDir, entry.destName) !== undefined,
      litter: staleTemporaries(destDir, basename(built)),
    });
  }
  return {
    ref,
    libTree,
    moduleDir: ctx.tree.moduleDir(ref.module),
    kernelLink,
    linkTarget: readLink(kernelLink),
    backupDir,
    modules,
    preInstall: conf.preInstall,
    postInstall: conf.postInstall,
    symlink: Boolean(ctx.framework.symlink_modules),
    force: Boolean(options.force),
    depmod: Boolean(options.depmod),
    tag: String(process.pid),
    owe: finishOwedBy(ctx, ref.kernel, 'install'),
  };
}

const describeBuild = (ref: BuildRef): string =>
  `${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch})`;

function requireKernelTree(ctx: DkmsContext, ref: BuildRef): void {
  const libTree = join(ctx.paths.installTree, ref.kernel);
  if (!existsSync(libTree)) {
    throw new DkmsError(
      'NO_KERNEL',
      `The directory ${libTree} doesn't exist.\nYou cannot install a module onto a non-existent kernel.`,
    );
  }
}

/** What `dkms install --dry-run` shows for one kernel: nothing is read-write. */
export type InstallPreview =
  | { status: 'already-installed'; message: string }
  | { status: 'planned'; build: boolean; uninstall: EngineStep[]; steps: EngineStep[] };

const alreadyInstalled = (ref: BuildRef): string =>
  `Module ${ref.module}/${ref.version} already installed on kernel ${ref.kernel} (${ref.arch}), skip. You may override by specifying --force.`;

/** The plan of dkms install for one kernel, without changing anything. */
export async function previewInstall(
  ctx: DkmsContext,
  ref: BuildRef,
  options: InstallOptions = {},
): Promise<InstallPreview> {
  const built = ctx.tree.isBuilt(ref);
  if (built && ctx.tree.isInstalled(ref) && !options.force)
    return { status: 'already-installed', message: alreadyInstalled(ref) };
  const uninstall =
    built && ctx.tree.isInstalled(ref) ? (await planUninstallFor(ctx, ref)).steps : [];
  requireKernelTree(ctx, ref);
  const facts = await gatherInstallFacts(ctx, ref, { ...options, predicted: !built });
  if (uninstall.length > 0) facts.linkTarget = undefined;
  return { status: 'planned', build: !built, uninstall, steps: planInstall(facts) };
}

/**
 * dkms install for one kernel (building first when needed), as a journaled plan of steps.
 * With `depmod`, the plan ends with depmod for the kernel. The caller holds the module lock.
 */
export async function installModule(
  ctx: DkmsContext,
  ref: BuildRef,
  options: InstallOptions = {},
): Promise<InstallOutcome> {
  if (ctx.tree.isBuilt(ref) && ctx.tree.isInstalled(ref)) {
    if (!options.force) {
      ctx.reporter.info(alreadyInstalled(ref));
      return 'already-installed';
    }
    // Its own plan: the install below is planned from the tree the uninstall leaves.
    await uninstallOne(ctx, ref, { direct: true, depmod: Boolean(options.depmod) });
    ctx.reporter.info('');
  }
  if (!ctx.tree.isBuilt(ref)) await buildModule(ctx, ref);
  requireKernelTree(ctx, ref);
  const steps = planInstall(await gatherInstallFacts(ctx, ref, options));
  try {
    await runEnginePlan(ctx, {
      module: ref.module,
      title: `install of ${describeBuild(ref)}`,
      onError: 'undo',
      steps,
    });
  } catch (error) {
    throw toDkmsError(error, {
      exitCode: 6,
      otherwise: (message, cause) =>
        new DkmsError(
          'INSTALL_FAILED',
          `Installing ${ref.module}/${ref.version} failed: ${message}`,
          {
            cause,
          },
        ),
    });
  }
  return 'installed';
}
