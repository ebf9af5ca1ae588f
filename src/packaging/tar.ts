import { DkmsError } from '../core/errors.js';
import { runTool } from '../core/exec.js';
import { parseTarListing, unsafeMembers, type ArchiveMember } from './archiveMembers.js';

const invalid = (archive: string, why: string, hint?: string): DkmsError =>
  new DkmsError('TARBALL', `${archive} is not a valid DKMS tarball: ${why}`, {
    exitCode: 7,
    hint,
  });

/** Lists an archive as stored (`-P`: tar would otherwise hide leading `/` and `../`). */
export async function listArchive(archive: string): Promise<ArchiveMember[]> {
  const common = ['--list', '--absolute-names', '--quoting-style=escape', '-f', archive];
  const names = await runTool('tar', common);
  const verbose = await runTool('tar', ['--verbose', ...common]);
  if (names.exitCode !== 0 || verbose.exitCode !== 0) {
    throw invalid(archive, `tar cannot read it.\n${(names.stderr || verbose.stderr).trim()}`);
  }
  const members = parseTarListing(names.stdout, verbose.stdout);
  if (!members) throw invalid(archive, 'its listing could not be understood.');
  return members;
}

/**
 * Extracts into `dir` (a fresh temporary directory) after checking every member, so
 * nothing can be written or linked outside it.
 */
export async function extractArchive(archive: string, dir: string): Promise<void> {
  const bad = unsafeMembers(await listArchive(archive));
  if (bad.length > 0) {
    throw new DkmsError(
      'TARBALL',
      `Refusing to load ${archive}: it has members that would land outside the extraction directory.\n${bad.slice(0, 10).join('\n')}${bad.length > 10 ? `\n... and ${bad.length - 10} more` : ''}`,
      {
        exitCode: 7,
        hint: 'Nothing was extracted. Only load tarballs you trust, made by dkms mktarball.',
      },
    );
  }
  const result = await runTool('tar', [
    '--extract',
    '--no-same-owner',
    '--no-same-permissions',
    '-f',
    archive,
    '-C',
    dir,
  ]);
  if (result.exitCode !== 0)
    throw invalid(archive, `tar failed to extract it.\n${result.stderr.trim()}`);
}

/** The argv of tar creating `archive` from the contents of `dir` (compression from the name). */
export const createArchiveArgs = (dir: string, archive: string): string[] => [
  '--create',
  '--auto-compress',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '-C',
  dir,
  '-f',
  archive,
  '.',
];
