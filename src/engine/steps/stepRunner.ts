import { relative } from 'node:path';
import type { DkmsContext } from '../../core/context.js';
import { crashPoint } from '../../core/crashPoint.js';
import { toDkmsError } from '../../core/errors.js';
import { describeStep, inverseOf, isEffectful, type EngineStep } from './engineStep.js';
import { clearJournal, journalPath, writeJournal, type Journal } from './journal.js';
import { performStep, type StepOutput } from './performStep.js';

/** A plan for one module, ready to run. */
export interface EnginePlan {
  module: string;
  /** e.g. "install of hello/1.0 for 6.1.0-50-amd64 (x86_64)" (journal and doctor use it). */
  title: string;
  /** install rolls back on a failure; uninstall and remove stop where they are. */
  onError: 'undo' | 'stop';
  steps: EngineStep[];
}

/** What a run changed in install trees: the kernels whose modules.dep is now stale. */
export interface RunOutcome {
  /** Kernels whose install tree changed after the last depmod step of the run. */
  depmodOwed: Set<string>;
}

const userOutput = (ctx: DkmsContext): StepOutput => ({
  say: (level, text) => ctx.reporter[level](text),
});

/** The kernel an install-tree path belongs to, if it is in the install tree. */
function kernelOf(ctx: DkmsContext, path: string): string | undefined {
  const rel = relative(ctx.paths.installTree, path);
  if (rel === '' || rel.startsWith('..') || rel.startsWith('/')) return undefined;
  return rel.split('/')[0];
}

function trackDepmod(ctx: DkmsContext, step: EngineStep, owed: Set<string>): void {
  if (step.kind === 'depmod') {
    owed.delete(step.kernel);
    return;
  }
  const path =
    step.kind === 'placeModule'
      ? step.to
      : step.kind === 'removeFile' || step.kind === 'removeTree'
        ? step.path
        : step.kind === 'backupOriginal' || step.kind === 'restoreOriginal'
          ? step.original
          : undefined;
  const kernel = path === undefined ? undefined : kernelOf(ctx, path);
  if (kernel) owed.add(kernel);
}

/**
 * Runs the journal's remaining steps, rewriting it before each step that changes the disk.
 * A failing step in 'do' mode rolls the finished ones back when the plan asks for it (the
 * rollback is journaled too), then the error is thrown; a failing rollback step is reported
 * and skipped. The journal is gone when this returns or throws (the step's own error).
 */
async function drive(
  ctx: DkmsContext,
  path: string,
  journal: Journal,
  out: StepOutput,
  moduleDir: string,
): Promise<RunOutcome> {
  const owed = new Set<string>();
  for (const step of journal.done) trackDepmod(ctx, step, owed);
  let failed = false;
  let failure: unknown;
  while (journal.remaining.length > 0) {
    const step = journal.remaining[0] as EngineStep;
    if (isEffectful(step)) {
      writeJournal(path, journal);
      crashPoint(`${journal.mode}:${step.kind}`);
    }
    if (step.kind !== 'say') ctx.reporter.verbose(describeStep(step));
    try {
      await performStep(ctx, step, out);
    } catch (error) {
      if (journal.mode === 'undo') {
        out.say('warn', `Could not undo "${describeStep(step)}": ${toDkmsError(error).message}`);
      } else {
        failed = true;
        failure = error;
        if (journal.onError === 'stop') break;
        // The failed step may have done half its work: its inverse goes first.
        const undo = [step, ...journal.done.slice().reverse()].flatMap((s) =>
          inverseOf(s, moduleDir),
        );
        journal = { ...journal, mode: 'undo', done: [], remaining: undo };
        continue;
      }
    }
    trackDepmod(ctx, step, owed);
    journal = {
      ...journal,
      done: [...journal.done, step],
      remaining: journal.remaining.slice(1),
    };
    if (isEffectful(step)) crashPoint(`${journal.mode}:${step.kind}:done`);
  }
  clearJournal(path);
  if (failed) throw failure;
  return { depmodOwed: owed };
}

/** Runs a plan under the module's lock (the caller holds it), journaled step by step. */
export function runEnginePlan(ctx: DkmsContext, plan: EnginePlan): Promise<RunOutcome> {
  const moduleDir = ctx.tree.moduleDir(plan.module);
  const journal: Journal = {
    version: 1,
    title: plan.title,
    pid: process.pid,
    onError: plan.onError,
    mode: 'do',
    done: [],
    remaining: plan.steps,
  };
  return drive(ctx, journalPath(moduleDir), journal, userOutput(ctx), moduleDir);
}

/**
 * Finishes (or, once a rollback began, rolls back) what an interrupted command's journal
 * says remains. Lines the steps would print go to --verbose: the user asked for another
 * command. The caller holds the module's lock.
 */
export function resumeJournal(
  ctx: DkmsContext,
  module: string,
  journal: Journal,
): Promise<RunOutcome> {
  const moduleDir = ctx.tree.moduleDir(module);
  const quiet: StepOutput = {
    say: (level, text) =>
      level === 'info' ? ctx.reporter.verbose(text) : ctx.reporter[level](text),
  };
  return drive(ctx, journalPath(moduleDir), journal, quiet, moduleDir);
}
