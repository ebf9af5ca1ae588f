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
import { DkmsError } from '../core/errors.js';
import { kernelSourceDir } from '../kernel/kernel.js';
import { configLogName, type BuildPlan } from './buildPlan.js';
import type { DkmsContext } from '../core/context.js';
import { crashPoint } from '../core/crashPoint.js';
import { appendLog, buildEnv, runShell, runTool } from '../core/exec.js';
import { finishModule, prepareFinishing } from './moduleFile.js';
import { runBuildScript } from './scripts.js';

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
    jobserver: ctx.jobserver,
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
    exitCode: error.exitCode,
    cause: error,
  });
}

export async function runPlan(ctx: DkmsContext, plan: BuildPlan): Promise<void> {
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
  crashPoint('build:made');
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
