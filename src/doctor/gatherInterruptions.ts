import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsContext } from '../core/context.js';
import { filesUnder } from '../kernel/moduleTree.js';
import { pendingRecovery } from '../engine/recovery.js';
import { describeStep } from '../engine/steps/engineStep.js';
import { isStepTemporary } from '../engine/steps/litter.js';
import { journalPath } from '../engine/steps/journal.js';
import type { KernelLitter, ModuleInterruption } from './interruptionChecks.js';

/** A dkms or dkmsd process with this pid runs (a reused pid of another program does not count). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dkms');
  } catch {
    return true;
  }
}

/** The process a temporary name belongs to: `.tmp_<arch>_<pid>_<t>`, `..._removed_<pid>`, `.dkms-<pid>.tmp`. */
export function ownerPid(path: string): number | undefined {
  const name = path.split('/').pop() ?? '';
  const match =
    /_removed_(\d+)$/.exec(name) ??
    /^\.tmp_.+_(\d+)_[0-9a-z]+$/.exec(name) ??
    /\.dkms-(\d+)\.tmp$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Whether a command that is still running owns this path (or something in it). */
function ownedByLiveProcess(path: string): boolean {
  if (alive(ownerPid(path))) return true;
  try {
    return readdirSync(path).some((name) => alive(ownerPid(name)));
  } catch {
    return false;
  }
}

/** Reads a module's journal and leftovers (no lock taken: doctor only looks). */
export function gatherModuleInterruption(ctx: DkmsContext, module: string): ModuleInterruption {
  const { journal, litter } = pendingRecovery(ctx, module);
  const path = journalPath(ctx.tree.moduleDir(module));
  return {
    module,
    journal:
      journal === undefined
        ? undefined
        : journal === 'unreadable'
          ? { path, title: undefined, mode: undefined, remaining: [], running: false }
          : {
              path,
              title: journal.title,
              mode: journal.mode,
              remaining: journal.remaining
                .filter((step) => step.kind !== 'say')
                .map((step) => describeStep(step)),
              running: journal.pid !== process.pid && alive(journal.pid),
            },
    litter: litter.filter((leftover) => !ownedByLiveProcess(leftover)),
  };
}

/** `.<file>.dkms-<pid>.tmp` files anywhere in a kernel's module tree (links not followed). */
export function gatherKernelLitter(ctx: DkmsContext, kernel: string): KernelLitter {
  const files = filesUnder(
    join(ctx.paths.installTree, kernel),
    (name) => isStepTemporary(name) && !alive(ownerPid(name)),
  );
  return { kernel, files };
}
