import { basename, join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import { isInside } from '../core/safePath.js';
import type { BuildRef } from '../core/stateTree.js';
import type { EngineStep } from './steps/engineStep.js';
import type { FinishStep } from '../core/finishLedger.js';

/** What install read about one module of the build (dkms.conf's BUILT_MODULE_NAME[i]). */
export interface InstallModuleFacts {
  destName: string;
  /** The built file to install (`<m>/<v>/<kver>/<arch>/module/<name>.ko[.xz|...]`). */
  built: string;
  /** `<install_tree>/<kver><DEST_MODULE_LOCATION>` */
  destDir: string;
  /** Why the version check refuses this module (dkms 3.4's check_version_sanity). */
  conflict?: string | undefined;
  /** A same-named module already in the kernel's tree, to move aside. */
  original?: string | undefined;
  /** The backup directory already holds this module's original (from an earlier install). */
  backedUp: boolean;
  /** Temporary files an earlier, interrupted copy left in `destDir`. */
  litter: string[];
}

/** Everything install decides from; gathered by `gatherInstallFacts` (install.ts). */
export interface InstallFacts {
  ref: BuildRef;
  /** `<install_tree>/<kver>` */
  libTree: string;
  moduleDir: string;
  /** `<tree>/<m>/kernel-<kver>-<arch>` */
  kernelLink: string;
  /** Where the link points now, when it exists (another version, or dangling). */
  linkTarget: string | undefined;
  /** `<tree>/<m>/original_module/<kver>/<arch>` */
  backupDir: string;
  modules: InstallModuleFacts[];
  preInstall: string;
  postInstall: string;
  /** framework.conf's symlink_modules */
  symlink: boolean;
  force: boolean;
  /**
   * End the plan with dkms's `Running depmod... done.` and depmod for the kernel (dkms install,
   * autoinstall, match; dkmsd finishes each kernel once instead).
   */
  depmod: boolean;
  /** Names temporary files (the journal records them before they exist). */
  tag: string;
  /** What the install owes the kernel (the finish ledger), marked before its first change. */
  owe: FinishStep[];
}

export const DEPMOD_ROLLBACK_MESSAGE =
  'Problems with depmod detected. Automatically uninstalling this module.\nInstall Failed (depmod problems). Module rolled back to built state.';

/** The steps that install one built module for one kernel. Pure: facts in, steps out. */
export function planInstall(facts: InstallFacts): EngineStep[] {
  const { ref, libTree } = facts;
  const steps: EngineStep[] = [];
  if (facts.preInstall) {
    steps.push({
      kind: 'script',
      ref,
      phase: 'pre_install',
      script: facts.preInstall,
      ...(facts.force
        ? {}
        : {
            mustSucceed: {
              code: 'PRE_INSTALL_FAILED',
              message: 'pre_install failed, aborting install.',
              hint: 'You may override by specifying --force.',
            },
          }),
    });
  }
  for (const module of facts.modules)
    if (module.conflict) steps.push({ kind: 'say', level: 'error', text: module.conflict });
  const chosen = facts.modules.filter((module) => !module.conflict);
  if (facts.modules.length > 0 && chosen.length === 0) {
    steps.push({ kind: 'fail', code: 'INSTALL_FAILED', message: 'Installation aborted.' });
    return steps;
  }
  if (facts.owe.length > 0)
    steps.push({ kind: 'owe', kernel: ref.kernel, arch: ref.arch, steps: facts.owe });
  for (const module of chosen) {
    const to = join(module.destDir, basename(module.built));
    if (!isInside(libTree, to))
      throw new DkmsError('BAD_PATH', `Refusing to install ${to}: it is outside ${libTree}.`);
    for (const path of module.litter) steps.push({ kind: 'removeFile', path });
    const linkExists = facts.linkTarget !== undefined;
    if (linkExists && module.backedUp) {
      steps.push({
        kind: 'say',
        level: 'info',
        text: 'An original module was already stored during a previous install',
      });
    } else if (!linkExists && module.original) {
      const saved = join(facts.backupDir, basename(module.original));
      steps.push(
        {
          kind: 'say',
          level: 'info',
          text: `Found pre-existing ${module.original}, archiving for uninstallation`,
        },
        {
          kind: 'backupOriginal',
          original: module.original,
          saved,
          record: `${saved}.origin`,
        },
      );
    }
    steps.push(
      { kind: 'say', level: 'info', text: `Installing ${to}` },
      {
        kind: 'placeModule',
        from: module.built,
        to,
        temp: join(module.destDir, `.${basename(to)}.dkms-${facts.tag}.tmp`),
        symlink: facts.symlink,
        libTree,
      },
    );
  }
  const linkName = basename(facts.kernelLink);
  steps.push({
    kind: 'writeLink',
    path: facts.kernelLink,
    target: `${ref.version}/${ref.kernel}/${ref.arch}`,
    temp: join(facts.moduleDir, `.${linkName}.dkms-${facts.tag}.tmp`),
    ...(facts.linkTarget === undefined ? {} : { previous: facts.linkTarget }),
  });
  if (facts.postInstall)
    steps.push({ kind: 'script', ref, phase: 'post_install', script: facts.postInstall });
  if (facts.depmod)
    steps.push({
      kind: 'depmod',
      kernel: ref.kernel,
      onFailure: 'undo',
      failureMessage: DEPMOD_ROLLBACK_MESSAGE,
    });
  return steps;
}
