import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInside } from '../core/safePath.js';
import { loadConfs } from '../conf/loadConf.js';
import type { DkmsContext } from '../core/context.js';
import { failedLogPath, type BuildRef, type ModuleVersionRef } from '../core/stateTree.js';
import { installedModuleFile } from '../status/status.js';
import { depmodSteps } from './installPlan.js';
import { finishOwedBy } from './depmod.js';
import type { EngineStep } from './steps/engineStep.js';
import { runEnginePlan } from './steps/stepRunner.js';
import {
  planRemoveVersion,
  planUnbuild,
  planUninstall,
  type OriginalRecord,
  type UninstallFacts,
} from './uninstallPlan.js';

function listBuiltNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((name) => /^(.*)\.ko(\.xz|\.zst|\.gz)?$/.exec(name)?.[1])
      .filter((name): name is string => Boolean(name));
  } catch {
    return [];
  }
}

/** The `.origin` records of a build's backed-up originals, checked to stay in the kernel's tree. */
function readOriginals(
  backupDir: string,
  libTree: string,
): { originals: OriginalRecord[]; bad: string[] } {
  const originals: OriginalRecord[] = [];
  const bad: string[] = [];
  let names: string[];
  try {
    names = readdirSync(backupDir).sort();
  } catch {
    return { originals, bad };
  }
  for (const name of names.filter((n) => n.endsWith('.origin'))) {
    const record = join(backupDir, name);
    const saved = record.slice(0, -'.origin'.length);
    if (!existsSync(saved)) continue;
    const original = readFileSync(record, 'utf8').split('\n')[0] ?? '';
    if (!original || !isInside(libTree, original)) {
      bad.push(`Bad original location '${original}' in ${record}`);
      continue;
    }
    originals.push({ saved, original, record });
  }
  return { originals, bad };
}

/** Reads what uninstalling one build involves. */
export async function gatherUninstallFacts(
  ctx: DkmsContext,
  ref: BuildRef,
): Promise<UninstallFacts> {
  const libTree = join(ctx.paths.installTree, ref.kernel);
  const facts: UninstallFacts = {
    ref,
    libTree,
    moduleDir: ctx.tree.moduleDir(ref.module),
    kernelLink: ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch),
    installed: ctx.tree.isInstalled(ref),
    modules: [],
    confWarning: undefined,
    postRemove: '',
    originals: [],
    badOriginals: [],
    backupDir: undefined,
    owe: finishOwedBy(ctx, ref.kernel, 'uninstall'),
  };
  if (!facts.installed) return facts;
  const [outcome] = await loadConfs(ctx, [ref]);
  if (outcome?.ok) {
    const { conf } = outcome;
    facts.modules = conf.modules.map((module, i) => ({
      destName: module.destName,
      installed: installedModuleFile(ctx.paths.installTree, ref.kernel, conf, i),
    }));
    facts.postRemove = conf.postRemove;
  } else {
    if (outcome) facts.confWarning = outcome.error.message;
    facts.modules = listBuiltNames(ctx.tree.builtModuleDir(ref)).map((destName) => ({
      destName,
      installed: undefined,
    }));
  }
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  const { originals, bad } = readOriginals(backupDir, libTree);
  facts.originals = originals;
  facts.badOriginals = bad;
  if (existsSync(backupDir)) facts.backupDir = backupDir;
  return facts;
}

/** The steps of dkms uninstall for one kernel; `changed` when it was installed. */
export async function planUninstallFor(
  ctx: DkmsContext,
  ref: BuildRef,
): Promise<{ steps: EngineStep[]; changed: boolean }> {
  return planUninstall(await gatherUninstallFacts(ctx, ref));
}

/** The steps of dkms unbuild for one kernel (uninstall first, unless told not to). */
export async function planUnbuildFor(
  ctx: DkmsContext,
  ref: BuildRef,
  options: { uninstall: boolean } = { uninstall: true },
): Promise<{ steps: EngineStep[]; changed: boolean }> {
  const uninstall = options.uninstall
    ? await planUninstallFor(ctx, ref)
    : { steps: [], changed: false };
  const failedLog = failedLogPath(ctx.tree.versionDir(ref), ref.kernel, ref.arch);
  const unbuild = planUnbuild({
    ref,
    versionDir: ctx.tree.versionDir(ref),
    built: ctx.tree.isBuilt(ref),
    failedLog: existsSync(failedLog) ? failedLog : undefined,
    tag: String(process.pid),
  });
  return { steps: [...uninstall.steps, ...unbuild], changed: uninstall.changed };
}

/** Runs one kernel's uninstall or unbuild steps; they stop (no rollback) on a failure. */
const runForBuild = (
  ctx: DkmsContext,
  ref: BuildRef,
  action: string,
  steps: EngineStep[],
): Promise<unknown> =>
  runEnginePlan(ctx, {
    module: ref.module,
    title: `${action} of ${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch})`,
    onError: 'stop',
    steps,
  });

/**
 * dkms uninstall for one kernel, without depmod (the caller runs it). Returns whether
 * anything was installed. The caller holds the module lock.
 */
export async function uninstallOne(ctx: DkmsContext, ref: BuildRef): Promise<boolean> {
  const { steps, changed } = await planUninstallFor(ctx, ref);
  await runForBuild(ctx, ref, 'uninstall', steps);
  return changed;
}

/** dkms unbuild for one kernel: uninstall when installed, then delete the build. */
export async function unbuildOne(
  ctx: DkmsContext,
  ref: BuildRef,
  options: { uninstall: boolean } = { uninstall: true },
): Promise<boolean> {
  const { steps, changed } = await planUnbuildFor(ctx, ref, options);
  await runForBuild(ctx, ref, 'unbuild', steps);
  return changed;
}

export type RemovalMode = 'uninstall' | 'unbuild' | 'remove';

/**
 * The whole of dkms uninstall/unbuild/remove for one module version and several kernels:
 * each kernel's steps, one depmod per kernel that had something installed (a failure is a
 * warning, as upstream), and for remove the version itself when no kernel is left.
 */
export async function planRemoval(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  targets: readonly { kernel: string; arch: string }[],
  mode: RemovalMode,
): Promise<EngineStep[]> {
  const steps: EngineStep[] = [];
  const touched: string[] = [];
  for (const target of targets) {
    const build = { ...ref, ...target };
    const planned =
      mode === 'uninstall' ? await planUninstallFor(ctx, build) : await planUnbuildFor(ctx, build);
    steps.push(...planned.steps);
    if (planned.changed && !touched.includes(target.kernel)) touched.push(target.kernel);
  }
  if (ctx.depmod) for (const kernel of touched) steps.push(...depmodSteps(kernel, 'warn'));
  if (mode === 'remove')
    steps.push(...planRemoveVersion(ref, ctx.tree.versionDir(ref), ctx.tree.moduleDir(ref.module)));
  return steps;
}

/** Runs `planRemoval`'s steps under the caller's module lock. */
export async function runRemoval(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  mode: RemovalMode,
  steps: EngineStep[],
): Promise<void> {
  await runEnginePlan(ctx, {
    module: ref.module,
    title: `${mode} of ${ref.module}/${ref.version}`,
    onError: 'stop',
    steps,
  });
}
