import type { DkmsError } from '../core/errors.js';
import { logTail } from '../core/logTail.js';

/**
 * What dkms prints on stderr for an error: its preface lines, a blank line and `Error! ...`
 * (die), or `Warning: ...` for a BUILD_EXCLUSIVE skip (diewarn); nothing for a build script
 * that already said everything. Under an error with a log, the last 20 lines of that log when
 * a person reads it (`logTail`): dkms 3.4.3 prints only where the log is, and scripts that
 * parse its output get exactly that. The one printer the CLI and autoinstall share.
 */
export function errorText(error: DkmsError, options: { logTail?: boolean } = {}): string {
  if (!error.message) return '';
  if (error.code === 'BUILD_EXCLUDED') return `Warning: ${error.message}`;
  const lines = [...(error.preface ? [error.preface] : []), `\nError! ${error.message}`];
  if (error.logPath) {
    if (!error.message.includes('\nConsult '))
      lines.push(`Consult ${error.logPath} for more information.`);
    // Most people never open make.log: its last lines usually say what went wrong.
    const tail = options.logTail ? logTail(error.logPath, 20) : '';
    if (tail)
      lines.push(`Last lines of ${error.logPath}:`, ...tail.split('\n').map((l) => `  ${l}`));
  }
  if (error.hint) lines.push(error.hint);
  return lines.join('\n');
}

/**
 * Whether error messages end with the tail of the failed step's log: when stderr is a terminal
 * (a person, or apt run by one), never when it is a pipe or a file (scripts, hooks' logs, the
 * journal). DKMS_LOG_TAIL=1 or 0 decides instead.
 */
export function wantLogTail(
  env: NodeJS.ProcessEnv = process.env,
  stderrIsTTY = Boolean(process.stderr.isTTY),
): boolean {
  const forced = env['DKMS_LOG_TAIL'];
  if (forced === '1') return true;
  if (forced === '0') return false;
  return stderrIsTTY;
}
