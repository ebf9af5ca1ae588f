import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { buildEnv } from '../core/exec.js';

/** What a module file holds, by its magic bytes. */
export type ContentFormat = 'elf' | '.gz' | '.xz' | '.zst' | 'unknown';

const MAGICS: [ContentFormat, Buffer][] = [
  ['elf', Buffer.from([0x7f, 0x45, 0x4c, 0x46])],
  ['.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['.gz', Buffer.from([0x1f, 0x8b])],
];

export function detectFormat(head: Buffer): ContentFormat {
  for (const [format, magic] of MAGICS)
    if (head.subarray(0, magic.length).equals(magic)) return format;
  return 'unknown';
}

/** The compression a file name promises: '' for `.ko`. */
export const suffixOf = (file: string): '' | '.gz' | '.xz' | '.zst' =>
  (/\.ko(\.gz|\.xz|\.zst)$/.exec(file)?.[1] as '.gz' | '.xz' | '.zst' | undefined) ?? '';

export function readHead(file: string, length = 8): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export interface ModuleImage {
  format: ContentFormat;
  /** The uncompressed ELF module, when it could be had. */
  plain: Buffer | undefined;
}

/** Reads a module file and uncompresses it (xz and zstd with their tools, gzip in-process). */
export async function readModuleImage(file: string): Promise<ModuleImage> {
  const data = readFileSync(file);
  const format = detectFormat(data);
  if (format === 'elf') return { format, plain: data };
  if (format === '.gz') {
    try {
      return { format, plain: gunzipSync(data) };
    } catch {
      return { format, plain: undefined };
    }
  }
  if (format === '.xz' || format === '.zst') {
    const result = await execa(format === '.xz' ? 'xz' : 'zstd', ['-dc', file], {
      encoding: 'buffer',
      // a signed module ends in "~Module signature appended~\n": keep that newline
      stripFinalNewline: false,
      reject: false,
      env: buildEnv(),
      extendEnv: false,
      stdin: 'ignore',
    });
    const plain = result.exitCode === 0 ? Buffer.from(result.stdout) : undefined;
    return { format, plain: plain && detectFormat(plain) === 'elf' ? plain : undefined };
  }
  return { format, plain: undefined };
}
