import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInside } from '../core/safePath.js';
import { loadConfs } from '../conf/loadConf.js';
import type { DkmsContext } from '../core/context.js';
import { failedLogPath, type BuildRef, type ModuleVersionRef } from '../core/stateTree.js';
import { installedModuleFile } from '../status/status.js';
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

/** Every file below `dir` (none when it does not exist). */
function filesBelow(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

/** How an uninstall runs: see `planUninstall`. */
export interface UninstallOptions {
  /** dkms's do_uninstall itself (it speaks for an inactive version too). @default false */
  direct?: boolean;
  /**
   * Ends with `Running depmod... done.`; false when the caller runs depmod once for the
   * kernel (kernel_prerm/preinst, dkmsd), which the finish ledger then owes.
   * @default true
   */
  depmod?: boolean;
}

/** Reads what uninstalling one build involves. */
export async function gatherUninstallFacts(
  ctx: DkmsContext,
  ref: BuildRef,
  options: UninstallOptions = {},
): Promise<UninstallFacts> {
  const libTree = join(ctx.paths.installTree, ref.kernel);
  const facts: UninstallFacts = {
    ref,
    libTree,
    moduleDir: ctx.tree.moduleDir(ref.module),
    kernelLink: ctx.tree.kernelLink(ref.module, ref.kernel, ref.arch),
    installed: ctx.tree.isInstalled(ref),
    hasExclusives: false,
    modules: [],
    confWarning: undefined,
    postRemove: '',
    originals: [],
    badOriginals: [],
    backupDir: undefined,
    backupLeftovers: false,
    depmod: options.depmod ?? true,
    owe: finishOwedBy(ctx, ref.kernel, 'uninstall'),
  };
  // "not installed" reads the conf only to know whether to say it
  if (!facts.installed && !options.direct && !existsSync(ctx.tree.confPath(ref))) return facts;
  const [outcome] = await loadConfs(ctx, [ref]);
  if (outcome?.ok) {
    const { conf } = outcome;
    facts.hasExclusives = conf.hasModuleExclusives;
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
  if (!facts.installed) return facts;
  const backupDir = ctx.tree.originalModuleDir(ref.module, ref.kernel, ref.arch);
  const { originals, bad } = readOriginals(backupDir, libTree);
  facts.originals = originals;
  facts.badOriginals = bad;
  if (existsSync(backupDir)) {
    facts.backupDir = backupDir;
    const restored = new Set(originals.flatMap((o) => [o.saved, o.record]));
    facts.backupLeftovers = filesBelow(backupDir).some((file) => !restored.has(file));
  }
  return facts;
}

/** The steps of dkms uninstall for one kernel; `changed` when it was installed. */
export async function planUninstallFor(
  ctx: DkmsContext,
  ref: BuildRef,
  options: UninstallOptions = {},
): Promise<{ steps: EngineStep[]; changed: boolean }> {
  return planUninstall(await gatherUninstallFacts(ctx, ref, options), options);
}

/** How unbuild runs: uninstall first (unless told not to), with these options. */
export type UnbuildOptions = { uninstall: boolean } & UninstallOptions;

/** The steps of dkms unbuild for one kernel (uninstall first, unless told not to). */
export async function planUnbuildFor(
  ctx: DkmsContext,
  ref: BuildRef,
  options: UnbuildOptions = { uninstall: true },
): Promise<{ steps: EngineStep[]; changed: boolean }> {
  const uninstall = options.uninstall
    ? await planUninstallFor(ctx, ref, options)
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
 * dkms uninstall for one kernel (with its depmod unless told otherwise). Returns whether
 * anything was installed. The caller holds the module lock.
 */
export async function uninstallOne(
  ctx: DkmsContext,
  ref: BuildRef,
  options: UninstallOptions = {},
): Promise<boolean> {
  const { steps, changed } = await planUninstallFor(ctx, ref, options);
  await runForBuild(ctx, ref, 'uninstall', steps);
  return changed;
}

/** dkms unbuild for one kernel: uninstall when installed, then delete the build. */
export async function unbuildOne(
  ctx: DkmsContext,
  ref: BuildRef,
  options: UnbuildOptions = { uninstall: true },
): Promise<boolean> {
  const { steps, changed } = await planUnbuildFor(ctx, ref, options);
  await runForBuild(ctx, ref, 'unbuild', steps);
  return changed;
}

export type RemovalMode = 'uninstall' | 'unbuild' | 'remove';

const blankLine: EngineStep = { kind: 'say', level: 'info', text: '' };

/**
 * The whole of dkms uninstall/unbuild/remove for one module version and several kernels, in
 * dkms's order and wording: each kernel's uninstall (with its depmod) and unbuild, blank lines
 * between kernels (after each one for remove), and for remove the version itself when no
 * kernel is left.
 */
export async function planRemoval(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  targets: readonly { kernel: string; arch: string }[],
  mode: RemovalMode,
): Promise<EngineStep[]> {
  const steps: EngineStep[] = [];
  for (const [i, target] of targets.entries()) {
    const build = { ...ref, ...target };
    if (mode !== 'remove' && i > 0) steps.push(blankLine);
    const planned =
      mode === 'uninstall' ? await planUninstallFor(ctx, build) : await planUnbuildFor(ctx, build);
    steps.push(...planned.steps);
    if (mode === 'remove') steps.push(blankLine);
  }
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
