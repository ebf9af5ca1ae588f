import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { appendLog, runShell, runTool } from '../core/exec.js';
import { DKMS_VERSION } from '../core/version.js';

/*
 * dkms's invoke_command: one line on stdout (`<description>... done.`, or `...(bad exit
 * status: N)` with the failed command), and in make.log a block per step in dkms 3.4's format.
 */

/** `HH:MM:SS` of whole seconds, as `date -u -d "0 N sec" +%T` prints it. */
export function elapsedTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/**
 * The make.log header: `DKMS (dkms-3.4.3) make.log for m/v for kernel K (arch)` and the date
 * as dkms writes it: what `date` prints (`Thu Nov  6 09:05:01 UTC 2025` in the C locale, with
 * the zone's own abbreviation). Not Intl: its locale data would stay resident in dkmsd (7 MB).
 */
export async function makeLogHeader(
  module: string,
  version: string,
  kernel: string,
  arch: string,
): Promise<string> {
  const date = await runTool('date', []);
  return `DKMS (dkms-${DKMS_VERSION}) make.log for ${module}/${version} for kernel ${kernel} (${arch})\n${date.stdout.trim()}\n`;
}

export interface InvokeOptions {
  /** Where the command runs. */
  cwd: string;
  env: Record<string, string | undefined>;
  /** Output goes here in dkms's block format; without it the output is discarded. */
  logFile?: string | undefined;
  /** A label for the terminal progress line. */
  progressLabel?: string | undefined;
  /** Confines the command (the build sandbox); make.log and stdout show it unwrapped. */
  wrap?: ((command: string, cwd: string) => string) | undefined;
}

/**
 * Runs `command` as dkms's invoke_command does in background mode and returns its exit
 * status. Prints `<description>... done.` or `<description>...(bad exit status: N)`,
 * `Failed command:` and the command.
 */
export async function invokeCommand(
  ctx: DkmsContext,
  command: string,
  description: string,
  options: InvokeOptions,
): Promise<number> {
  const { logFile } = options;
  if (logFile) appendLog(logFile, `\n${description}\n# command: ${command}\n`);
  const started = Date.now();
  const { progress } = ctx.reporter;
  const label = options.progressLabel ?? description;
  const ticker = progress
    ? setInterval(() => progress(`${label} ... ${elapsedTime(Date.now() - started)}`), 1000)
    : undefined;
  const result = await runShell(options.wrap ? options.wrap(command, options.cwd) : command, {
    cwd: options.cwd,
    env: options.env,
    logFile,
    signal: ctx.signal,
    jobserver: ctx.jobserver,
  }).finally(() => {
    if (ticker) clearInterval(ticker);
    progress?.('');
  });
  const status = result.exitCode ?? (result.signal ? 128 : 1);
  if (logFile) {
    appendLog(
      logFile,
      `\n# exit code: ${status}\n# elapsed time: ${elapsedTime(Date.now() - started)}\n----------------------------------------------------------------\n`,
    );
  }
  if (result.aborted) throw new DkmsError('ABORTED', `${description} was interrupted.`);
  ctx.reporter.verbose(command);
  ctx.reporter.info(invokeResult(description, command, started, status));
  return status;
}

/**
 * invoke_command's line once the command is over: `<description>... done.`, or `...(bad exit
 * status: N)`, `Failed command:` and the command; a dot for every 3 seconds it ran (upstream
 * prints one every 3 seconds while the command runs).
 */
export function invokeResult(
  description: string,
  command: string,
  startedMs: number,
  status: number,
): string {
  const dots = '.'.repeat(Math.floor((Date.now() - startedMs) / 3000));
  return status === 0
    ? `${description}...${dots} done.`
    : `${description}...${dots}(bad exit status: ${status})\nFailed command:\n${command}`;
}
