import type { DkmsErrorCode } from '../../core/errors.js';
import type { FinishStep } from '../../core/finishLedger.js';
import type { ModuleVersionRef } from '../../core/stateTree.js';

/**
 * One thing install, uninstall or remove does. Planners return lists of these without
 * touching anything; the step runner (stepRunner.ts) is the only code that carries them out.
 * Every step can be run again after a crash in its middle and ends in the same state, which
 * is what lets the journal replay the remaining steps of an interrupted command.
 */
export type EngineStep =
  /** A line for the user; the wording lives in the plan, so it is decided in one place. */
  | { kind: 'say'; level: 'info' | 'warn' | 'error'; text: string }
  /**
   * Records in the finish ledger (core/finishLedger.ts) what this plan's change to the
   * kernel's install tree owes it, before the change starts.
   */
  | { kind: 'owe'; kernel: string; arch: string; steps: FinishStep[] }
  /** PRE_INSTALL/POST_INSTALL/POST_REMOVE; `mustSucceed` stops the plan on a failure. */
  | {
      kind: 'script';
      ref: ModuleVersionRef;
      phase: 'pre_install' | 'post_install' | 'post_remove';
      script: string;
      mustSucceed?: { code: DkmsErrorCode; message: string; hint?: string };
    }
  /** Moves a same-named module aside, its `.origin` record written first. */
  | { kind: 'backupOriginal'; original: string; saved: string; record: string }
  /** Copies (or links) a built module to a temporary name next to `to`, then renames it. */
  | {
      kind: 'placeModule';
      from: string;
      to: string;
      temp: string;
      symlink: boolean;
      /** `<install_tree>/<kver>`: undoing the step prunes emptied directories up to it. */
      libTree: string;
    }
  /** rm -f, then removes the emptied parent directories up to `pruneUpTo` (exclusive). */
  | { kind: 'removeFile'; path: string; pruneUpTo?: string }
  /** Puts a backed-up original back where its record says it came from. */
  | {
      kind: 'restoreOriginal';
      saved: string;
      original: string;
      record: string;
      /** Prunes the emptied backup directories up to here (exclusive). */
      pruneUpTo?: string;
    }
  /** rm -rf, then prunes emptied parents up to `pruneUpTo` (exclusive). */
  | { kind: 'removeTree'; path: string; pruneUpTo?: string }
  /** Renames a directory to `aside` (a `.tmp_` name) and deletes it: gone in one step. */
  | { kind: 'discardDir'; path: string; aside: string }
  /** The kernel-<kver>-<arch> link, written through `temp` + rename. */
  | { kind: 'writeLink'; path: string; target: string; temp: string; previous?: string }
  | { kind: 'removeLink'; path: string }
  /** Deletes `<m>/<v>/<kver>` when nothing but staging litter is left in it. */
  | { kind: 'pruneKernelDir'; path: string }
  /** dkms remove's last step: `<m>/<v>` (and `<m>`) go when no kernel is left. */
  | { kind: 'removeVersionIfUnused'; ref: ModuleVersionRef; versionDir: string; moduleDir: string }
  /**
   * dkms's `Running depmod... done.`: depmod for the kernel while it owes one (not with
   * --no-depmod, which prints only the line). `onFailure: 'undo'` rolls the plan back
   * (install) and fails with `failureMessage` above depmod's own; `'warn'` reports depmod's
   * message and goes on.
   */
  | { kind: 'depmod'; kernel: string; onFailure: 'undo' | 'warn'; failureMessage?: string }
  /** Stops the plan with this error (e.g. every module refused by the version check). */
  | { kind: 'fail'; code: DkmsErrorCode; message: string; hint?: string };

export type StepKind = EngineStep['kind'];

/** Steps that change nothing on disk: no journal write, no crash point before them. */
export const isEffectful = (step: EngineStep): boolean =>
  step.kind !== 'say' && step.kind !== 'fail';

/** One line per step, for --dry-run and --verbose. */
export function describeStep(step: EngineStep): string {
  switch (step.kind) {
    case 'say':
      return `say: ${step.text.replace(/\n/g, ' ')}`;
    case 'owe':
      return `owe ${step.kernel} (${step.arch}): ${step.steps.join(', ')}`;
    case 'script':
      return `run the ${step.phase} script: ${step.script}`;
    case 'backupOriginal':
      return `move original ${step.original} to ${step.saved}`;
    case 'placeModule':
      return `${step.symlink ? 'link' : 'copy'} ${step.from} to ${step.to}`;
    case 'removeFile':
      return `rm -f ${step.path}`;
    case 'restoreOriginal':
      return `restore original ${step.original} from ${step.saved}`;
    case 'removeTree':
      return `rm -rf ${step.path}`;
    case 'discardDir':
      return `rm -rf ${step.path}`;
    case 'writeLink':
      return `ln -sfn ${step.target} ${step.path}`;
    case 'removeLink':
      return `rm -f ${step.path}`;
    case 'pruneKernelDir':
      return `rmdir ${step.path} when empty`;
    case 'removeVersionIfUnused':
      return `rm -rf ${step.versionDir} when no kernel is left`;
    case 'depmod':
      return `depmod ${step.kernel}`;
    case 'fail':
      return `fail: ${step.message.replace(/\n/g, ' ')}`;
  }
}

/**
 * What takes a finished step back, newest first when a plan is rolled back. Steps that
 * cannot be taken back (a deleted file, a script that ran) have no inverse.
 */
export function inverseOf(step: EngineStep, moduleDir: string): EngineStep[] {
  switch (step.kind) {
    case 'backupOriginal':
      return [
        {
          kind: 'restoreOriginal',
          saved: step.saved,
          original: step.original,
          record: step.record,
          pruneUpTo: moduleDir,
        },
      ];
    case 'placeModule':
      return [
        { kind: 'removeFile', path: step.temp },
        { kind: 'removeFile', path: step.to, pruneUpTo: step.libTree },
      ];
    case 'writeLink':
      return step.previous === undefined
        ? [{ kind: 'removeLink', path: step.path }]
        : [{ kind: 'writeLink', path: step.path, target: step.previous, temp: step.temp }];
    default:
      return [];
  }
}
