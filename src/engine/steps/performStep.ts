import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { DkmsContext } from '../../core/context.js';
import { crashPoint } from '../../core/crashPoint.js';
import { DkmsError } from '../../core/errors.js';
import { invokeDepmod } from '../depmod.js';
import { markOwed } from '../../core/finishLedger.js';
import { removeEmptyParents } from './emptyDirs.js';
import { runBuildScript } from '../scripts.js';
import type { EngineStep } from './engineStep.js';
import { JOURNAL_NAME } from './journal.js';

const exists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

const listDir = (path: string): string[] => {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
};

function prune(path: string, upTo: string | undefined): void {
  if (upTo !== undefined) removeEmptyParents(dirname(path), upTo);
}

/** Where a step's lines go: the user, or --verbose only while a journal is replayed. */
export interface StepOutput {
  say(level: 'info' | 'warn' | 'error', text: string): void;
}

/**
 * Carries out one step. Each one ends in the same state when it is run again after being
 * interrupted anywhere in its middle (the journal replays the step a crash cut short).
 */
export async function performStep(
  ctx: DkmsContext,
  step: EngineStep,
  out: StepOutput,
): Promise<void> {
  switch (step.kind) {
    case 'say':
      out.say(step.level, step.text);
      return;
    case 'fail':
      throw new DkmsError(step.code, step.message, { hint: step.hint });
    case 'script': {
      const status = await runBuildScript(ctx, step.ref, step.phase, step.script);
      if (step.mustSucceed && status !== undefined && status !== 0) {
        const { code, message, hint } = step.mustSucceed;
        throw new DkmsError(code, message, { hint });
      }
      return;
    }
    case 'backupOriginal':
      if (!exists(step.original)) return; // moved already
      mkdirSync(dirname(step.saved), { recursive: true });
      // The record first: a crash between the two leaves the original in place, not lost.
      writeFileSync(step.record, `${step.original}\n`);
      crashPoint('backupOriginal:recorded');
      renameSync(step.original, step.saved);
      return;
    case 'placeModule':
      mkdirSync(dirname(step.to), { recursive: true });
      rmSync(step.temp, { force: true });
      if (step.symlink) symlinkSync(step.from, step.temp);
      else copyFileSync(step.from, step.temp);
      crashPoint('placeModule:copied');
      renameSync(step.temp, step.to);
      return;
    case 'removeFile':
      rmSync(step.path, { force: true });
      prune(step.path, step.pruneUpTo);
      return;
    case 'restoreOriginal':
      if (exists(step.saved)) {
        mkdirSync(dirname(step.original), { recursive: true });
        renameSync(step.saved, step.original);
        crashPoint('restoreOriginal:moved');
      }
      if (exists(step.original)) rmSync(step.record, { force: true });
      prune(step.saved, step.pruneUpTo);
      return;
    case 'removeTree':
      rmSync(step.path, { recursive: true, force: true });
      prune(step.path, step.pruneUpTo);
      return;
    case 'discardDir':
      if (exists(step.path)) {
        rmSync(step.aside, { recursive: true, force: true });
        renameSync(step.path, step.aside);
        crashPoint('discardDir:renamed');
      }
      rmSync(step.aside, { recursive: true, force: true });
      return;
    case 'writeLink':
      rmSync(step.temp, { force: true });
      symlinkSync(step.target, step.temp);
      renameSync(step.temp, step.path);
      return;
    case 'removeLink':
      rmSync(step.path, { force: true });
      return;
    case 'pruneKernelDir':
      if (listDir(step.path).every((name) => name.startsWith('.tmp_')))
        rmSync(step.path, { recursive: true, force: true });
      return;
    case 'removeVersionIfUnused':
      removeVersionIfUnused(step, out);
      return;
    case 'owe':
      await markOwed(ctx.paths.dkmsTree, step, step.steps);
      return;
    case 'depmod': {
      // Clears the depmod the ledger holds for this kernel (this plan's own mark included).
      const { line, failure } = await invokeDepmod(ctx, step.kernel);
      out.say('info', line);
      if (!failure) return;
      if (step.onFailure === 'warn') {
        out.say('warn', failure.message);
        return;
      }
      throw new DkmsError(
        'DEPMOD_FAILED',
        step.failureMessage ? `${step.failureMessage}\n${failure.message}` : failure.message,
        { cause: failure },
      );
    }
  }
}

/** Directories of `<m>/<v>` that belong to the version itself, not to a kernel. */
const VERSION_ENTRIES = new Set(['build', 'tarball', 'driver_disk', 'rpm', 'deb', 'source']);

function removeVersionIfUnused(
  step: Extract<EngineStep, { kind: 'removeVersionIfUnused' }>,
  out: StepOutput,
): void {
  if (existsSync(step.versionDir)) {
    const entries = listDir(step.versionDir);
    for (const name of entries)
      if (name.startsWith('.tmp_')) rmSync(join(step.versionDir, name), { recursive: true });
    const kernels = entries.filter((name) => !VERSION_ENTRIES.has(name) && !name.startsWith('.'));
    if (kernels.length > 0) return;
    out.say(
      'info',
      `Deleting module ${step.ref.module}/${step.ref.version} completely from the DKMS tree.`,
    );
    rmSync(step.versionDir, { recursive: true, force: true });
  }
  // The module's own directory goes when nothing but this plan's journal is left in it.
  const rest = listDir(step.moduleDir).filter((name) => !name.startsWith(JOURNAL_NAME));
  if (rest.length === 0 && existsSync(step.moduleDir))
    rmSync(step.moduleDir, { recursive: true, force: true });
}
