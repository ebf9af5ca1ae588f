import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import { kernelSourceDir } from '../kernel/kernel.js';
import type { BuildPlan } from './buildPlan.js';
import type { DkmsContext } from '../core/context.js';
import { crashPoint } from '../core/crashPoint.js';
import { appendLog, buildEnv, runTool } from '../core/exec.js';
import type { ActiveSigning } from '../sign/signer.js';
import { invokeCommand, makeLogHeader } from './invoke.js';
import { finishModule, prepareFinishing } from './moduleFile.js';
import { runBuildScript } from './scripts.js';
import type { BuildSandbox } from './buildSandbox.js';

/*
 * Running a build plan: copy the source, patch, PRE_BUILD, make, collect the modules into the
 * staging directory, POST_BUILD; every step logged into make.log in dkms's format.
 */
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

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not there or not empty
  }
}

/** Keeps the log of a failed build where dkms leaves it, and drops the staging dir. */
export function failBuild(plan: BuildPlan, error: DkmsError): never {
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
    advice: error.advice,
    exitCode: error.exitCode,
    cause: error,
  });
}

/** Where the user must put a missing patch: the places each build copies patches from. */
function patchMissingHint(ctx: DkmsContext, plan: BuildPlan, name: string): string {
  let source = plan.sourceDir;
  try {
    source = realpathSync(plan.sourceDir);
  } catch {
    // a dangling source link: name the link
  }
  const overlay = join(ctx.paths.confDir, plan.ref.module, 'patches');
  return `Put ${name} into ${join(source, 'patches')}/ or ${overlay}/ (each build copies both into its build directory), or remove it from PATCH[] in dkms.conf.`;
}

/** The environment make and the build scripts see: dkms's, less what would disturb the build. */
async function makeEnv(
  ctx: DkmsContext,
  plan: BuildPlan,
): Promise<Record<string, string | undefined>> {
  const kernelDir = kernelSourceDir(ctx.paths.installTree, plan.ref.kernel, ctx.kernelSourceDir);
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
  Object.assign(env, await buildEnvironment(ctx, plan, env));
  return env;
}

/**
 * framework.conf's build_environment (dkms 3.4): a file sourced before make, with
 * `$kernelver` and `$arch` of the build; what it exports reaches make and the build scripts.
 */
async function buildEnvironment(
  ctx: DkmsContext,
  plan: BuildPlan,
  env: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const file = ctx.framework.build_environment;
  if (!file || !existsSync(file)) return {};
  const script = 'kernelver=$2 arch=$3; source "$1" >/dev/null 2>&1; env -0';
  const result = await runTool(
    'bash',
    ['-c', script, 'build_environment', file, plan.ref.kernel, plan.ref.arch],
    { env },
  );
  const exported: Record<string, string> = {};
  for (const entry of result.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    if (eq > 0 && !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(name))
      exported[name] = entry.slice(eq + 1);
  }
  return exported;
}

/** Copies the source to the work dir, with /etc/dkms/<module>/patches/ overlaid (dkms 3.4). */
async function prepareWorkDir(ctx: DkmsContext, plan: BuildPlan): Promise<void> {
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
  const overlay = join(ctx.paths.confDir, plan.ref.module, 'patches');
  if (existsSync(overlay)) {
    mkdirSync(join(plan.workDir, 'patches'), { recursive: true });
    const cp = await runTool('cp', ['-a', `${overlay}/.`, join(plan.workDir, 'patches')]);
    if (cp.exitCode !== 0)
      throw new DkmsError('BUILD_FAILED', `Could not copy ${overlay}: ${cp.stderr.trim()}`);
  }
}

/**
 * Runs a build plan as dkms 3.4's do_build does from the source copy on: patches, PRE_BUILD,
 * make, the modules stripped, signed and compressed into the staging dir, POST_BUILD.
 * Patches, PRE_BUILD, make and POST_BUILD run inside `sandbox`.
 */
export async function runPlan(
  ctx: DkmsContext,
  plan: BuildPlan,
  signing: ActiveSigning | undefined,
  sandbox: BuildSandbox,
): Promise<void> {
  const { ref } = plan;
  const shownLog = plan.failedLogFile;
  await prepareWorkDir(ctx, plan);
  await sandbox.enter();
  mkdirSync(dirname(plan.logFile), { recursive: true });
  appendLog(plan.logFile, await makeLogHeader(ref.module, ref.version, ref.kernel, ref.arch));
  const env = await makeEnv(ctx, plan);
  const label = `${ref.module}/${ref.version} (${ref.kernel})`;
  const invoke = { cwd: plan.workDir, env, logFile: plan.logFile, wrap: sandbox.wrap };

  for (const patch of plan.patches) {
    if (!existsSync(patch.file)) {
      throw new DkmsError(
        'PATCH_MISSING',
        `Patch ${patch.name} as specified in dkms.conf cannot be\nfound in ${plan.workDir}/patches/.`,
        { advice: patchMissingHint(ctx, plan, patch.name) },
      );
    }
    const status = await invokeCommand(
      ctx,
      `patch -p1 < ./patches/${patch.name}`,
      `Applying patch ${patch.name}`,
      { ...invoke, progressLabel: `${label}: patch ${patch.name}` },
    );
    if (status !== 0) {
      throw new DkmsError(
        'PATCH_FAILED',
        `Application of patch ${patch.name} failed.\nConsult ${shownLog} for more information.`,
      );
    }
  }
  await runBuildScript(ctx, ref, 'pre_build', plan.preBuild, {
    logFile: plan.logFile,
    shownLogFile: shownLog,
    buildDir: plan.workDir,
    env,
    wrap: sandbox.wrap,
  });
  const status = await invokeCommand(ctx, plan.makeCommand, 'Building module(s)', {
    ...invoke,
    progressLabel: `${label}: make`,
  });
  if (status !== 0) {
    throw new DkmsError(
      'BUILD_FAILED',
      `Bad return status for module build on kernel: ${ref.kernel} (${ref.arch})\nConsult ${shownLog} for more information.`,
    );
  }
  for (const module of plan.modules) {
    if (!existsSync(module.builtFile)) {
      throw new DkmsError(
        'BUILD_FAILED',
        `Build of ${module.location}${module.name}.ko failed for: ${ref.kernel} (${ref.arch})\nMake sure the name and location of the generated module are correct,\nor consult ${shownLog} for more information.`,
        { exitCode: 7 },
      );
    }
  }
  sandbox.checkBuilt(plan.modules.map((module) => module.builtFile));
  crashPoint('build:made');
  const moduleDir = join(plan.stagingDir, 'module');
  mkdirSync(moduleDir, { recursive: true });
  const symvers = join(plan.workDir, 'Module.symvers');
  if (existsSync(symvers)) copyFileSync(symvers, join(moduleDir, 'Module.symvers'));
  const finishing = await prepareFinishing(ctx, ref, plan.kernelConfig, { signing });
  for (const module of plan.modules) {
    await finishModule(ctx, ref, module, moduleDir, finishing);
  }
  await runBuildScript(ctx, ref, 'post_build', plan.postBuild, {
    logFile: plan.logFile,
    shownLogFile: shownLog,
    buildDir: plan.workDir,
    env,
    wrap: sandbox.wrap,
  });
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
