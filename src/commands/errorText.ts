import type { DkmsError } from '../core/errors.js';
import { logTail } from '../core/logTail.js';

/**
 * What dkms prints on stderr for an error: its preface lines, a blank line and `Error! ...`
 * (die), or `Warning: ...` for a BUILD_EXCLUSIVE skip (diewarn); nothing for a build script
 * that already said everything; under an error with a log, the last 20 lines of that log.
 * The one printer the CLI and autoinstall share.
 */
export function errorText(error: DkmsError): string {
  if (!error.message) return '';
  if (error.code === 'BUILD_EXCLUDED') return `Warning: ${error.message}`;
  const lines = [...(error.preface ? [error.preface] : []), `\nError! ${error.message}`];
  if (error.logPath) {
    if (!error.message.includes('\nConsult '))
      lines.push(`Consult ${error.logPath} for more information.`);
    // Most people never open make.log: its last lines usually say what went wrong.
    const tail = logTail(error.logPath, 20);
    if (tail)
      lines.push(`Last lines of ${error.logPath}:`, ...tail.split('\n').map((l) => `  ${l}`));
  }
  if (error.hint) lines.push(error.hint);
  return lines.join('\n');
}
