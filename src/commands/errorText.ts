import type { DkmsError } from '../core/errors.js';
import { logTail } from '../core/logTail.js';

/**
 * What dkms prints on stderr for an error: its preface lines, a blank line and `Error! ...`
 * (die), or `Warning: ...` for a BUILD_EXCLUSIVE skip (diewarn); nothing for a build script
 * that already said everything. When a person reads it (`forPerson`, see `wantLogTail`) it
 * adds what dkms 3.4.3 does not print: the log's name where the message has none, its last 20
 * lines, and the error's advice; scripts that parse the output get dkms 3.4.3's lines.
 * The one printer the CLI and autoinstall share.
 */
export function errorText(error: DkmsError, options: { forPerson?: boolean } = {}): string {
  if (!error.message) return '';
  if (error.code === 'BUILD_EXCLUDED') return `Warning: ${error.message}`;
  const lines = [...(error.preface ? [error.preface] : []), `\nError! ${error.message}`];
  if (error.logPath && options.forPerson) {
    // dkms's own messages name make.log where it does (`Consult ...`)
    if (!error.message.includes('\nConsult '))
      lines.push(`Consult ${error.logPath} for more information.`);
    // Most people never open make.log: its last lines usually say what went wrong.
    const tail = logTail(error.logPath, 20);
    if (tail)
      lines.push(`Last lines of ${error.logPath}:`, ...tail.split('\n').map((l) => `  ${l}`));
  }
  if (error.hint) lines.push(error.hint);
  if (options.forPerson && error.advice) lines.push(error.advice);
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
