import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { buildEnv, runShell } from '../core/exec.js';
import { invokeCommand } from './invoke.js';

export type ScriptKind =
  'pre_build' | 'post_build' | 'post_add' | 'pre_install' | 'post_install' | 'post_remove';

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export interface ScriptLocation {
  /** Where the script runs from. */
  runDir: string;
  /** `<runDir>/<script with its arguments>`, as dkms builds it. */
  run: string;
  /** The file that must be executable (the first word of `run`). */
  program: string;
}

/**
 * Where dkms 3.4 runs a script from: PRE_BUILD/POST_BUILD from the build directory, the
 * others from the source; an executable of the same name in `/etc/dkms/<module>/` wins.
 */
export function locateScript(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kind: ScriptKind,
  script: string,
  buildDir?: string,
): ScriptLocation {
  const firstWord = script.split(' ')[0] ?? '';
  const override = join(ctx.paths.confDir, ref.module);
  let runDir =
    kind === 'pre_build' || kind === 'post_build'
      ? (buildDir ?? ctx.tree.buildWorkDir(ref))
      : ctx.tree.sourceLink(ref);
  if (firstWord && isExecutable(join(override, firstWord))) runDir = override;
  const run = `${runDir}/${script}`;
  return { runDir, run, program: run.split(' ')[0] ?? run };
}

export interface ScriptOptions {
  /** PRE_BUILD/POST_BUILD: the log their output goes to (dkms's make.log block). */
  logFile?: string;
  /** The make.log path to name when the script fails (where a failed build leaves it). */
  shownLogFile?: string;
  buildDir?: string;
  env?: Record<string, string | undefined>;
  /** Confines PRE_BUILD/POST_BUILD (the build sandbox). */
  wrap?: ((command: string, cwd: string) => string) | undefined;
}

/**
 * dkms's run_build_script. With a log file: `Running the <kind> script... done.` and a
 * failure stops the build with the script's status. Without: `Running the <kind> script:`,
 * then the script's output. Returns the exit status (0 when there is no script), or undefined
 * when the script is not executable (a warning, as upstream).
 */
export async function runBuildScript(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kind: ScriptKind,
  script: string,
  options: ScriptOptions = {},
): Promise<number | undefined> {
  if (!script) return 0;
  const where = locateScript(ctx, ref, kind, script, options.buildDir);
  if (!isExecutable(where.program)) {
    ctx.reporter.info('');
    ctx.reporter.warn(`The ${kind} script is not executable.`);
    return undefined;
  }
  const env = options.env ?? buildEnv();
  if (options.logFile) {
    const status = await invokeCommand(
      ctx,
      `cd ${where.runDir}/ && ${where.run}`,
      `Running the ${kind} script`,
      { cwd: where.runDir, env, logFile: options.logFile, wrap: options.wrap },
    );
    if (status !== 0) {
      ctx.reporter.info(`Consult ${options.shownLogFile ?? options.logFile} for more information.`);
      // upstream exits with the script's status and prints nothing more
      throw new DkmsError('BUILD_SCRIPT_FAILED', '', { exitCode: status });
    }
    return 0;
  }
  ctx.reporter.info(`Running the ${kind} script:`);
  const result = await runShell(`exec ${where.run}`, {
    cwd: where.runDir,
    env,
    signal: ctx.signal,
    keepOutput: true,
  });
  if (result.output) ctx.reporter.info(result.output.replace(/\n$/, ''));
  if (result.aborted) throw new DkmsError('ABORTED', `The ${kind} script was interrupted.`);
  return result.exitCode ?? 1;
}
