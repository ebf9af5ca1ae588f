import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { DkmsError } from '../core/errors.js';
import {
  headersPackageHint,
  headersPresent,
  kernelConfigPath,
  kernelSourceDir,
} from '../kernel/kernel.js';
import type { BuildRef } from '../tree/stateTree.js';
import { addModule } from './add.js';
import { configLogName, planBuild, type BuildPlan } from './buildPlan.js';
import type { DkmsContext } from './context.js';
import { appendLog, buildEnv, runShell, runTool } from './exec.js';
import { finishModule, prepareFinishing } from './moduleFile.js';
import { runBuildScript } from './scripts.js';

export interface BuildOptions {
  force?: boolean;
}

export type BuildOutcome = { status: 'built'; conf: DkmsConf } | { status: 'already-built' };

/** Reads the kernel's compiler the way dkms does (.kernelvariables, else the config's text). */
async function kernelCompiler(
  sourceDir: string,
  config: string | undefined,
): Promise<string | undefined> {
  const variables = join(sourceDir, '.kernelvariables');
  if (existsSync(variables)) {
    const result = await runTool('make', ['-s', '-f', '-', 'show-CC'], {
      input: `show-%:\n\t@echo $($*)\ninclude ${variables}\n`,
    });
    const cc = result.stdout.trim();
    return result.exitCode === 0 && cc ? cc : undefined;
  }
  if (!config) return undefined;
  const match = /^CONFIG_CC_VERSION_TEXT="([^ ]*) /m.exec(config);
  return match?.[1];
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** One logged step, in dkms 3.4's make.log format. */
async function logged(
  ctx: DkmsContext,
  plan: BuildPlan,
  description: string,
  command: string,
  env: Record<string, string | undefined>,
): Promise<number> {
  ctx.reporter.verbose(command);
  appendLog(plan.logFile, `\n${description}\n# command: ${command}\n`);
  const started = Date.now();
  const { progress } = ctx.reporter;
  const label = `${plan.ref.module}/${plan.ref.version} (${plan.ref.kernel}): ${description.split(' ').slice(0, 3).join(' ')}`;
  const ticker = progress
    ? setInterval(() => progress(`${label} ... ${elapsed(Date.now() - started)}`), 1000)
    : undefined;
  const result = await runShell(command, {
    cwd: plan.workDir,
    env,
    logFile: plan.logFile,
    signal: ctx.signal,
  }).finally(() => {
    if (ticker) clearInterval(ticker);
    progress?.('');
  });
  appendLog(
    plan.logFile,
    `\n# exit code: ${result.exitCode ?? result.signal ?? '?'}\n# elapsed time: ${elapsed(Date.now() - started)}\n----------------------------------------------------------------\n`,
  );
  if (result.aborted)
    throw new DkmsError(
      'ABORTED',
      `Build of ${plan.ref.module}/${plan.ref.version} for ${plan.ref.kernel} was interrupted.`,
    );
  return result.exitCode ?? 1;
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not there or not empty
  }
}

/** Keeps the log of a failed build where dkms leaves it, and drops the staging dir. */
function failBuild(plan: BuildPlan, error: DkmsError): never {
  let logPath: string | undefined;
  try {
    if (existsSync(plan.logFile)) {
      mkdirSync(dirname(plan.failedLogFile), { recursive: true });
      renameSync(plan.logFile, plan.failedLogFile);
      copyFileSync(plan.failedLogFile, plan.keptFailedLogFile);
      logPath = plan.keptFailedLogFile;
    }
  } catch {
    logPath = undefined;
  }
  rmSync(plan.stagingDir, { recursive: true, force: true });
  removeIfEmpty(dirname(plan.stagingDir));
  throw new DkmsError(error.code, error.message, {
    logPath: error.logPath ?? logPath,
    hint: error.hint,
    exitCode: error.exitCode,
    cause: error,
  });
}

/** Checks that happen before anything is copied: exclusions, headers, dependencies. */
export function checkBuildable(ctx: DkmsContext, ref: BuildRef, conf: DkmsConf): void {
  if (conf.exclusion) {
    throw new DkmsError(
      'BUILD_EXCLUDED',
      `The ${ctx.tree.confPath(ref)} for module ${ref.module} includes a BUILD_EXCLUSIVE directive which does not match this kernel/arch/config.\n(${conf.exclusion})\nThis indicates that it should not be built.`,
    );
  }
  const sourceDir = kernelSourceDir(ctx.paths.installTree, ref.kernel, ctx.kernelSourceDir);
  if (!headersPresent(sourceDir)) {
    throw new DkmsError(
      'HEADERS_MISSING',
      `Your kernel headers for kernel ${ref.kernel} cannot be found at ${sourceDir}.`,
      {
        hint: `Please install the ${headersPackageHint(ref.kernel, ctx.distro)} package or use the --kernelsourcedir option to tell DKMS where it's located.`,
      },
    );
  }
  const missing = conf.buildDepends.filter(
    (dep) => ctx.tree.installedVersion(dep, ref.kernel, ref.arch) === undefined,
  );
  if (missing.length > 0) {
    throw new DkmsError(
      'BUILD_DEPENDS_MISSING',
      `Aborting build of module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch}) due to missing BUILD_DEPENDS: ${missing.join(' ')}.`,
      {
        hint: `Install ${missing.join(', ')} for ${ref.kernel} first (dkms autoinstall orders them for you).`,
      },
    );
  }
}

async function runPlan(ctx: DkmsContext, plan: BuildPlan): Promise<void> {
  const { ref } = plan;
  const kernelDir = kernelSourceDir(ctx.paths.installTree, ref.kernel, ctx.kernelSourceDir);
  rmSync(plan.workDir, { recursive: true, force: true });
  const copy = await runTool('cp', ['-a', '--reflink=auto', `${plan.sourceDir}/.`, plan.workDir]);
  if (copy.exitCode !== 0) {
    mkdirSync(plan.workDir, { recursive: true });
    const mk = await runTool('cp', ['-a', `${plan.sourceDir}/.`, plan.workDir]);
    if (mk.exitCode !== 0)
      throw new DkmsError(
        'BUILD_FAILED',
        `Could not copy ${plan.sourceDir} to ${plan.workDir}: ${mk.stderr.trim()}`,
      );
  }
  mkdirSync(dirname(plan.logFile), { recursive: true });
  appendLog(
    plan.logFile,
    `DKMS make.log for ${ref.module}-${ref.version} for kernel ${ref.kernel} (${ref.arch})\n${new Date().toString()}\n`,
  );
  const env = buildEnv({
    CC: undefined,
    CXX: undefined,
    CFLAGS: undefined,
    CXXFLAGS: undefined,
    LDFLAGS: undefined,
  });
  const cc = await kernelCompiler(
    kernelDir,
    plan.kernelConfig ? readText(plan.kernelConfig) : undefined,
  );
  if (cc) env['CC'] = cc;

  for (const patch of plan.patches) {
    if (!existsSync(patch.file)) {
      throw new DkmsError(
        'PATCH_MISSING',
        `Patch ${patch.name} as specified in dkms.conf cannot be found in ${dirname(patch.file)}/.`,
      );
    }
    ctx.reporter.info(`Applying patch ${patch.name}...`);
    const status = await logged(
      ctx,
      plan,
      `applying patch ${patch.name}`,
      `patch -p1 < ./patches/${quote(patch.name)}`,
      env,
    );
    if (status !== 0) {
      throw new DkmsError(
        'PATCH_FAILED',
        `Application of patch ${patch.name} failed.\nCheck ${plan.workDir} for more information.`,
      );
    }
  }
  const pre = await runBuildScript(ctx, ref, 'pre_build', plan.preBuild, {
    logFile: plan.logFile,
    buildDir: plan.workDir,
  });
  if (pre !== undefined && pre !== 0) {
    throw new DkmsError(
      'BUILD_SCRIPT_FAILED',
      `The pre_build script failed (exit ${pre}) for ${ref.module}/${ref.version} on ${ref.kernel} (${ref.arch}).`,
    );
  }
  ctx.reporter.info(`Building module(s)...`);
  const status = await logged(ctx, plan, plan.makeCommand, `{ ${plan.makeCommand}; }`, env);
  if (status !== 0) {
    throw new DkmsError(
      'BUILD_FAILED',
      `Bad return status for module build on kernel: ${ref.kernel} (${ref.arch})`,
    );
  }
  for (const module of plan.modules) {
    if (!existsSync(module.builtFile)) {
      throw new DkmsError(
        'BUILD_FAILED',
        `Build of ${module.name}.ko failed for: ${ref.kernel} (${ref.arch})\nMake sure the name of the generated module is correct and at the root of the build directory, or consult make.log.`,
        { exitCode: 7 },
      );
    }
  }
  if (plan.kernelConfig && existsSync(plan.kernelConfig)) {
    copyFileSync(plan.kernelConfig, join(dirname(plan.logFile), configLogName(plan.kernelConfig)));
  }
  const moduleDir = join(plan.stagingDir, 'module');
  mkdirSync(moduleDir, { recursive: true });
  const finishing = await prepareFinishing(ctx, ref, plan.kernelConfig);
  for (const module of plan.modules) {
    await finishModule(ctx, ref, module, moduleDir, finishing);
  }
  const post = await runBuildScript(ctx, ref, 'post_build', plan.postBuild, {
    logFile: plan.logFile,
    buildDir: plan.workDir,
  });
  if (post !== undefined && post !== 0) {
    throw new DkmsError(
      'BUILD_SCRIPT_FAILED',
      `The post_build script failed (exit ${post}) for ${ref.module}/${ref.version} on ${ref.kernel} (${ref.arch}).`,
    );
  }
}

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * dkms build for one kernel. The result lands in a staging directory and is renamed into
 * `<m>/<v>/<kver>/<arch>` only when everything succeeded, so an interrupted build never
 * looks built. The caller holds the module lock.
 */
export async function buildModule(
  ctx: DkmsContext,
  ref: BuildRef,
  options: BuildOptions = {},
): Promise<BuildOutcome> {
  if (ctx.tree.isBroken(ref)) {
    throw new DkmsError(
      'BROKEN',
      `${ref.module}/${ref.version} is broken!\nMissing the source directory or the symbolic link pointing to it.\nManual intervention is required!`,
    );
  }
  if (!ctx.tree.isAdded(ref)) await addModule(ctx, ref, { kernel: ref.kernel, arch: ref.arch });
  if (ctx.tree.isBuilt(ref)) {
    if (!options.force) {
      ctx.reporter.info(
        `Module ${ref.module}/${ref.version} already built for kernel ${ref.kernel} (${ref.arch}), skip. You may override by specifying --force.`,
      );
      return { status: 'already-built' };
    }
    const { unbuildOne } = await import('./remove.js');
    await unbuildOne(ctx, ref, { uninstall: false });
  }
  const conf = await loadConfOrThrow(ctx, ref);
  checkBuildable(ctx, ref, conf);
  const sourceLink = ctx.tree.sourceLink(ref);
  if (readdirSync(sourceLink).length < 2) {
    throw new DkmsError(
      'CONF_INVALID',
      `The directory ${sourceLink} does not appear to have module source located within it.\nBuild halted.`,
    );
  }
  const kernelDir = kernelSourceDir(ctx.paths.installTree, ref.kernel, ctx.kernelSourceDir);
  const configPath = kernelConfigPath(kernelDir, ctx.kernelConfigFile);
  const plan = planBuild({
    ref,
    conf,
    versionDir: ctx.tree.versionDir(ref),
    sourceDir: sourceLink,
    parallelJobs: ctx.parallelJobs,
    kernelConfig: existsSync(configPath) ? configPath : undefined,
    stagingTag: `${process.pid}_${Date.now().toString(36)}`,
  });
  for (const warning of conf.warnings) ctx.reporter.warn(warning);
  ctx.reporter.info(
    `\nBuilding module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch})`,
  );
  try {
    await runPlan(ctx, plan);
  } catch (error) {
    if (error instanceof DkmsError) failBuild(plan, error);
    throw error;
  }
  rmSync(plan.finalDir, { recursive: true, force: true });
  renameSync(plan.stagingDir, plan.finalDir);
  rmSync(plan.keptFailedLogFile, { force: true });
  rmSync(plan.workDir, { recursive: true, force: true });
  ctx.reporter.info(`Built ${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch}).`);
  return { status: 'built', conf };
}
