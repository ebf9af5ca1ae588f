import { basename, join } from 'node:path';
import type { BuildRef, ModuleVersionRef } from '../core/stateTree.js';
import type { EngineStep } from './steps/engineStep.js';
import type { FinishStep } from '../core/finishLedger.js';

/** A module install moved aside, read from its `.origin` record. */
export interface OriginalRecord {
  /** The backed-up file in `original_module/<kver>/<arch>/`. */
  saved: string;
  /** Where it came from (inside `<install_tree>/<kver>`). */
  original: string;
  record: string;
}

/** What uninstall decides from; gathered by `gatherUninstallFacts` (remove.ts). */
export interface UninstallFacts {
  ref: BuildRef;
  libTree: string;
  moduleDir: string;
  kernelLink: string;
  /** The kernel link resolves to this build. */
  installed: boolean;
  /** Any BUILD_EXCLUSIVE_* directive in the dkms.conf: "not installed" is expected, not said. */
  hasExclusives: boolean;
  /** Each module of the build, with the installed file found for it. */
  modules: { destName: string; installed: string | undefined }[];
  /** Why dkms.conf could not be read (uninstall goes on with the built names). */
  confWarning: string | undefined;
  postRemove: string;
  originals: OriginalRecord[];
  /** Records whose location leaves the kernel's tree: reported, never followed. */
  badOriginals: string[];
  /** `original_module/<kver>/<arch>`, when it exists. */
  backupDir: string | undefined;
  /** The backup directory holds more than the originals restored here (it is then said to go). */
  backupLeftovers: boolean;
  /** End with `Running depmod... done.` (dkms's do_uninstall); false: the caller runs it once. */
  depmod: boolean;
  /** What the uninstall owes the kernel (the finish ledger), marked before its first change. */
  owe: FinishStep[];
}

const say = (text: string, level: 'info' | 'warn' = 'info'): EngineStep => ({
  kind: 'say',
  level,
  text,
});

/** An original's record names it `<name>.ko[.xz...].origin`: dkms restores it with module `<name>`. */
const belongsTo = (original: OriginalRecord, destName: string): boolean => {
  const name = basename(original.record);
  return name.startsWith(`${destName}.`) && name.endsWith('.origin');
};

/**
 * dkms uninstall for one kernel. `direct`: dkms's do_uninstall itself (install --force, the
 * BUILD_DEPENDS_REBUILD rebuild), which speaks for an inactive version too; otherwise
 * maybe_uninstall_module, which says in one line that the version is not installed (nothing
 * when the conf has BUILD_EXCLUSIVE directives). `changed`: something was installed.
 */
export function planUninstall(
  facts: UninstallFacts,
  options: { direct?: boolean } = {},
): { steps: EngineStep[]; changed: boolean } {
  const { ref, libTree } = facts;
  if (!facts.installed && !options.direct) {
    const steps = facts.hasExclusives
      ? []
      : [
          say(
            `Module ${ref.module}/${ref.version} is not installed for kernel ${ref.kernel} (${ref.arch}). Skipping...`,
          ),
        ];
    return { steps, changed: false };
  }
  const steps: EngineStep[] = [
    say(`Module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch}):`),
  ];
  if (facts.installed) {
    steps.push(say('Before uninstall, this module version was ACTIVE on this kernel.'));
    if (facts.owe.length > 0)
      steps.push({ kind: 'owe', kernel: ref.kernel, arch: ref.arch, steps: facts.owe });
    if (facts.confWarning) steps.push(say(facts.confWarning, 'warn'));
    const restored = new Set<OriginalRecord>();
    const restore = (original: OriginalRecord): void => {
      restored.add(original);
      steps.push(say(`Restoring archived original module ${original.original}`), {
        kind: 'restoreOriginal',
        ...original,
      });
    };
    for (const bad of facts.badOriginals) steps.push(say(bad, 'warn'));
    // module by module, as dkms: its installed file, then the originals archived for it
    for (const module of facts.modules) {
      if (module.installed) {
        steps.push(say(`Deleting ${module.installed}`), {
          kind: 'removeFile',
          path: module.installed,
          pruneUpTo: libTree,
        });
      } else {
        steps.push(say(`Module ${module.destName}.ko was not found within ${libTree}/`));
      }
      for (const original of facts.originals)
        if (!restored.has(original) && belongsTo(original, module.destName)) restore(original);
    }
    // dkms would delete these with the backup; we put them back all the same
    for (const original of facts.originals) if (!restored.has(original)) restore(original);
    steps.push({ kind: 'removeLink', path: facts.kernelLink });
  } else {
    steps.push(say('This module version was INACTIVE for this kernel.'));
  }
  if (facts.postRemove)
    steps.push({ kind: 'script', ref, phase: 'post_remove', script: facts.postRemove });
  if (facts.depmod) steps.push({ kind: 'depmod', kernel: ref.kernel, onFailure: 'warn' });
  if (facts.installed && facts.backupDir) {
    // restoring the last original empties the backup, which dkms then deletes without a word
    if (facts.backupLeftovers)
      steps.push(
        say(`Removing original module(s) from DKMS tree for kernel ${ref.kernel} (${ref.arch})`),
      );
    steps.push({ kind: 'removeTree', path: facts.backupDir, pruneUpTo: facts.moduleDir });
  }
  return { steps, changed: facts.installed };
}

/** What unbuild reads besides the uninstall facts. */
export interface UnbuildFacts {
  ref: BuildRef;
  versionDir: string;
  built: boolean;
  /** The log a failed build of this kernel kept, when there is one. */
  failedLog: string | undefined;
  tag: string;
}

/** dkms unbuild for one kernel, after the uninstall steps when there are some. */
export function planUnbuild(facts: UnbuildFacts): EngineStep[] {
  const { ref } = facts;
  const steps: EngineStep[] = facts.failedLog
    ? [{ kind: 'removeFile', path: facts.failedLog }]
    : [];
  if (!facts.built) {
    steps.push(
      say(
        `Module ${ref.module}/${ref.version} is not built for kernel ${ref.kernel} (${ref.arch}). Skipping...`,
      ),
    );
    return steps;
  }
  const kernelDir = join(facts.versionDir, ref.kernel);
  steps.push(
    {
      kind: 'discardDir',
      path: join(kernelDir, ref.arch),
      aside: join(kernelDir, `.tmp_${ref.arch}_removed_${facts.tag}`),
    },
    { kind: 'pruneKernelDir', path: kernelDir },
  );
  return steps;
}

/** dkms remove's last step: the version (and the module) go when no kernel is left. */
export function planRemoveVersion(
  ref: ModuleVersionRef,
  versionDir: string,
  moduleDir: string,
): EngineStep[] {
  return [{ kind: 'removeVersionIfUnused', ref, versionDir, moduleDir }];
}
