import { basename, join } from 'node:path';
import { runTool } from '../core/exec.js';
import { isFile, which } from '../sign/signingInputs.js';
import { moduleNameOf } from './modulesDep.js';

export interface InitramfsEntry {
  path: string;
  size: number | undefined;
}

/** Lists what an initramfs image holds; injectable (tests, systems without the tools). */
export interface InitramfsLister {
  /** The listing tool, or undefined when neither lsinitramfs nor lsinitrd is installed. */
  readonly tool: string | undefined;
  list(image: string): Promise<{ entries: InitramfsEntry[] } | { error: string }>;
}

const LONG_LISTING =
  /^[-dlcbps][rwxsStT-]{9}\S*\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(.+)$/;

/** Parses `lsinitramfs -l` (cpio -tv) or `lsinitrd` output; plain path lines are accepted too. */
export function parseInitramfsListing(text: string): InitramfsEntry[] {
  const entries: InitramfsEntry[] = [];
  for (const line of text.split('\n')) {
    const long = LONG_LISTING.exec(line);
    if (long?.[1] && long[2]) {
      entries.push({ path: long[2].replace(/ -> .*$/, ''), size: Number(long[1]) });
    } else if (/^[\w.][^\s]*$/.test(line.trim()) && line.includes('/')) {
      entries.push({ path: line.trim(), size: undefined });
    }
  }
  return entries;
}

/** The entries that are the module `name` (any compression, any directory). */
export const entriesForModule = (
  entries: readonly InitramfsEntry[],
  name: string,
): InitramfsEntry[] =>
  entries.filter(
    (entry) =>
      /\.ko(\.gz|\.xz|\.zst)?$/.test(entry.path) && moduleNameOf(basename(entry.path)) === name,
  );

/** Debian's initrd.img-<kver>, else dracut's initramfs-<kver>.img. */
export function initramfsImage(bootDir: string, kernel: string): string | undefined {
  return [join(bootDir, `initrd.img-${kernel}`), join(bootDir, `initramfs-${kernel}.img`)].find(
    isFile,
  );
}

/** lsinitramfs (initramfs-tools) when installed, else lsinitrd (dracut). */
export function systemInitramfsLister(): InitramfsLister {
  const lsinitramfs = which('lsinitramfs');
  const lsinitrd = lsinitramfs ? undefined : which('lsinitrd');
  const tool = lsinitramfs ?? lsinitrd;
  return {
    tool,
    async list(image) {
      if (!tool) return { error: 'neither lsinitramfs nor lsinitrd is installed' };
      const result = await runTool(tool, lsinitramfs ? ['-l', image] : [image]);
      if (result.exitCode !== 0)
        return {
          error: `${basename(tool)} ${image} failed (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-2).join(' ')}`,
        };
      return { entries: parseInitramfsListing(result.stdout) };
    },
  };
}
