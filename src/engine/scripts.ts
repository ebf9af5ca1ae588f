import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { appendLog, buildEnv, runShell } from '../core/exec.js';

export type ScriptKind =
  'pre_build' | 'post_build' | 'post_add' | 'pre_install' | 'post_install' | 'post_remove';

/**
 * dkms's run_build_script: PRE_BUILD/POST_BUILD run from the build directory, the others
 * from the source; the first word must be executable. Returns the exit status (0 when there
 * is no script), or undefined when the script is not executable (a warning, as upstream).
 */
export async function runBuildScript(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kind: ScriptKind,
  script: string,
  options: { logFile?: string; buildDir?: string } = {},
): Promise<number | undefined> {
  if (!script) return 0;
  const base =
    kind === 'pre_build' || kind === 'post_build'
      ? (options.buildDir ?? ctx.tree.buildWorkDir(ref))
      : ctx.tree.sourceLink(ref);
  const [program = '', ...rest] = script.trim().split(/\s+/);
  if (program.split('/').includes('..') && !program.startsWith('/')) {
    // a relative script path that climbs out of the module is almost surely wrong
    ctx.reporter.warn(`The ${kind} script ${program} leaves the module directory.`);
  }
  const path = program.startsWith('/') ? program : join(base, program);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    ctx.reporter.warn(`The ${kind} script is not executable.`);
    return undefined;
  }
  ctx.reporter.info(`Running the ${kind} script:`);
  if (options.logFile)
    appendLog(options.logFile, `\nRunning the ${kind} script\n# command: ${script}\n`);
  const quoted = [path, ...rest].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = await runShell(`exec ${quoted}`, {
    cwd: base,
    env: buildEnv({ module: ref.module, module_version: ref.version }),
    logFile: options.logFile,
    signal: ctx.signal,
  });
  if (!options.logFile && result.tail) ctx.reporter.info(result.tail);
  if (options.logFile)
    appendLog(options.logFile, `\n# exit code: ${result.exitCode ?? result.signal ?? '?'}\n`);
  if (result.aborted) throw new DkmsError('ABORTED', `The ${kind} script was interrupted.`);
  return result.exitCode ?? 1;
}
