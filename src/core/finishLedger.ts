import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { withModuleLock } from './lock.js';

/**
 * The finish ledger: what a kernel is owed after its module tree changed. Each owed step is
 * one file in the dkms tree,
 *
 *   <dkms_tree>/depmod-pending-<kver>-<arch>      (the name dkms 3.4 uses for its own marker)
 *   <dkms_tree>/initramfs-pending-<kver>-<arch>
 *   <dkms_tree>/udev-pending-<kver>-<arch>
 *
 * written (and synced to disk) before the first module file of an install or uninstall is
 * touched, and removed only after the step succeeded for everything marked before it ran.
 * So a crash, a kill or a failing depmod leaves the step owed, and whoever looks next
 * (the next dkms command for that kernel, dkmsd at start-up, on rescan or kernel-added,
 * dkms doctor) runs it. What is owed follows the install tree, not the process that changed
 * it: a kernel that `dkms install` changed while dkmsd was busy with it is still finished.
 *
 * The CLI pays depmod only; initramfs and udev are left for dkmsd (without a daemon the
 * kernel packages' own hooks make the initramfs).
 */
export type FinishStep = 'depmod' | 'initramfs' | 'udev';

export const FINISH_STEPS: readonly FinishStep[] = ['depmod', 'initramfs', 'udev'];

/** What an install owes its kernel; an uninstall owes no udev trigger. */
export const AFTER_INSTALL: readonly FinishStep[] = FINISH_STEPS;
export const AFTER_UNINSTALL: readonly FinishStep[] = ['depmod', 'initramfs'];

export interface KernelArch {
  kernel: string;
  arch: string;
}

export interface OwedKernel extends KernelArch {
  steps: FinishStep[];
}

/** How `payOwed` ended for one step. */
export type PayResult =
  /** Nothing was owed: the step did not run. */
  | 'not-owed'
  /** It ran and succeeded; cleared. */
  | 'paid'
  /** It ran and succeeded, but the kernel changed again meanwhile: still owed. */
  | 'owed-again'
  /** It ran and failed: still owed. */
  | 'failed';

const PENDING = /^(depmod|initramfs|udev)-pending-(.+)-([^-]+)$/;

export const ledgerFile = (dkmsTree: string, step: FinishStep, target: KernelArch): string =>
  join(dkmsTree, `${step}-pending-${target.kernel}-${target.arch}`);

function readToken(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One kernel's steps are marked and cleared one process at a time (all its arches). */
const withLedgerLock = <T>(dkmsTree: string, kernel: string, body: () => Promise<T>) =>
  withModuleLock(dkmsTree, `.finish-${kernel}`, body);

/**
 * Marks steps owed for a kernel, durably, before its install tree changes. Each mark gets a
 * new token, so a step that started before it cannot clear it.
 */
export async function markOwed(
  dkmsTree: string,
  target: KernelArch,
  steps: readonly FinishStep[],
): Promise<void> {
  if (steps.length === 0) return;
  await withLedgerLock(dkmsTree, target.kernel, () => {
    const token = `${process.pid}.${Date.now()}.${randomBytes(6).toString('hex')}\n`;
    for (const step of steps) {
      const fd = openSync(ledgerFile(dkmsTree, step, target), 'w', 0o644);
      try {
        writeSync(fd, token);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    syncDir(dkmsTree);
    return Promise.resolve();
  });
}

/** The steps a kernel is owed now. */
export function owedSteps(dkmsTree: string, target: KernelArch): FinishStep[] {
  return FINISH_STEPS.filter((step) => readToken(ledgerFile(dkmsTree, step, target)) !== undefined);
}

/** Every kernel that is owed something, in name order. */
export function listOwed(dkmsTree: string): OwedKernel[] {
  let names: string[];
  try {
    names = readdirSync(dkmsTree).sort();
  } catch {
    return [];
  }
  const owed = new Map<string, OwedKernel>();
  for (const name of names) {
    const match = PENDING.exec(name);
    if (!match) continue;
    const [, step, kernel = '', arch = ''] = match;
    const key = `${kernel}\0${arch}`;
    const entry = owed.get(key) ?? { kernel, arch, steps: [] };
    entry.steps.push(step as FinishStep);
    owed.set(key, entry);
  }
  for (const entry of owed.values())
    entry.steps.sort((a, b) => FINISH_STEPS.indexOf(a) - FINISH_STEPS.indexOf(b));
  return [...owed.values()];
}

/** Clears a step if it still holds `token` (nobody marked it again since it was read). */
function clearIf(dkmsTree: string, step: FinishStep, target: KernelArch, token: string): boolean {
  const path = ledgerFile(dkmsTree, step, target);
  const now = readToken(path);
  if (now === undefined) return true;
  if (now !== token) return false;
  try {
    unlinkSync(path);
  } catch {
    // already cleared
  }
  syncDir(dkmsTree);
  return true;
}

/**
 * Runs `run` for one step if the kernel owes it, and clears the step when `run` resolves true
 * and nothing was marked meanwhile. `exclusive` holds the kernel's ledger lock while `run`
 * runs, so two of them never overlap and marks wait (depmod: of two overlapping runs the one
 * that started first could finish last and leave an older modules.dep). A `run` that throws
 * leaves the step owed and rethrows.
 */
export async function payOwed(
  dkmsTree: string,
  target: KernelArch,
  step: FinishStep,
  run: () => Promise<boolean>,
  options: { exclusive?: boolean } = {},
): Promise<PayResult> {
  const attempt = async (locked: boolean): Promise<PayResult> => {
    const token = readToken(ledgerFile(dkmsTree, step, target));
    if (token === undefined) return 'not-owed';
    if (!(await run())) return 'failed';
    const cleared = locked
      ? clearIf(dkmsTree, step, target, token)
      : await withLedgerLock(dkmsTree, target.kernel, () =>
          Promise.resolve(clearIf(dkmsTree, step, target, token)),
        );
    return cleared ? 'paid' : 'owed-again';
  };
  return options.exclusive
    ? withLedgerLock(dkmsTree, target.kernel, () => attempt(true))
    : attempt(false);
}

/** Every arch's depmod marker of one kernel, with its token. */
function depmodMarkers(dkmsTree: string, kernel: string): { arch: string; token: string }[] {
  return listOwed(dkmsTree)
    .filter((owed) => owed.kernel === kernel && owed.steps.includes('depmod'))
    .flatMap(({ arch }) => {
      const token = readToken(ledgerFile(dkmsTree, 'depmod', { kernel, arch }));
      return token === undefined ? [] : [{ arch, token }];
    });
}

/**
 * depmod is one per kernel, whatever the arch: runs `run` holding the kernel's ledger lock
 * (two depmods of one kernel never overlap, marks wait) and, when it resolves true, clears
 * the depmod markers of every arch of the kernel that were there before it started.
 * `onlyIfOwed`: run only when a marker is there (replaying what a killed command left). A
 * `run` that throws leaves the markers and rethrows.
 */
export async function payDepmod(
  dkmsTree: string,
  kernel: string,
  run: () => Promise<boolean>,
  options: { onlyIfOwed?: boolean } = {},
): Promise<PayResult> {
  // Nothing left to replay: no lock (a marker made from now on is its maker's to pay).
  if (options.onlyIfOwed && depmodMarkers(dkmsTree, kernel).length === 0) return 'not-owed';
  return withLedgerLock(dkmsTree, kernel, async () => {
    const markers = depmodMarkers(dkmsTree, kernel);
    if (markers.length === 0 && options.onlyIfOwed) return 'not-owed';
    if (!(await run())) return 'failed';
    const cleared = markers.map(({ arch, token }) =>
      clearIf(dkmsTree, 'depmod', { kernel, arch }, token),
    );
    return cleared.every(Boolean) ? 'paid' : 'owed-again';
  });
}

/** Forgets owed steps without running them (the kernel is going away). */
export async function dropOwed(
  dkmsTree: string,
  target: KernelArch,
  steps: readonly FinishStep[],
): Promise<void> {
  await withLedgerLock(dkmsTree, target.kernel, () => {
    for (const step of steps) {
      try {
        unlinkSync(ledgerFile(dkmsTree, step, target));
      } catch {
        // not owed
      }
    }
    return Promise.resolve();
  });
}
