import type { DkmsError } from '../core/errors.js';

/**
 * What dkms prints on stderr for an error: its preface lines, a blank line and `Error! ...`
 * (die), or `Warning: ...` for a BUILD_EXCLUSIVE skip (diewarn); nothing for a build script
 * that already said everything. The one printer the CLI and autoinstall share.
 */
export function errorText(error: DkmsError): string {
  if (!error.message) return '';
  if (error.code === 'BUILD_EXCLUDED') return `Warning: ${error.message}`;
  const lines = [...(error.preface ? [error.preface] : []), `\nError! ${error.message}`];
  if (error.logPath && !error.message.includes('\nConsult '))
    lines.push(`Consult ${error.logPath} for more information.`);
  if (error.hint) lines.push(error.hint);
  return lines.join('\n');
}
