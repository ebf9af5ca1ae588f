import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Roots } from '../helpers/roots.js';

/**
 * Where the oracle (Debian sid's dkms) and we lay out the same state differently on purpose.
 * Each rule rewrites or drops a listing line of both sandboxes before they are compared.
 */
const VERSION_DIFFERENCES: { why: string; apply: (line: string) => string | undefined }[] = [
  {
    // dkms-ts's finish ledger: the initramfs and udev trigger an install owes are left for
    // dkmsd (docs/daemon.md); upstream has no daemon to leave them to.
    why: 'initramfs/udev owed to dkmsd',
    apply: (line) => (/^f (initramfs|udev)-pending-/.test(line) ? undefined : line),
  },
  {
    // upstream keeps its MOK key in /var/lib/dkms whatever --dkmstree says; we follow the tree.
    why: 'MOK key pair at the top of the dkms tree',
    apply: (line) => (/^f (mok\.key|mok\.pub)$/.test(line) ? undefined : line),
  },
];

/** What the comparison evens out, for failure messages. */
export const evenedOut = (): string => VERSION_DIFFERENCES.map((rule) => rule.why).join('; ');

/** Status output as dkms 3.4 words it (the sid oracle already does: kept as the one place to even out wording). */
export const statusIn34Wording = (stdout: string): string => stdout;

/**
 * Every directory, file and link below `dir`, one line each (`d path`, `f path`,
 * `l path -> target`), paths relative to `dir`, link targets under `sandbox` written as
 * `<sandbox>/...`; sorted. Contents and timestamps are not looked at.
 */
export function listing(dir: string, sandbox = dir): string[] {
  const lines: string[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(dir, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      const stat = lstatSync(join(dir, path));
      if (stat.isSymbolicLink()) {
        lines.push(
          `l ${path} -> ${readlinkSync(join(dir, path)).split(sandbox).join('<sandbox>')}`,
        );
      } else if (stat.isDirectory()) {
        lines.push(`d ${path}`);
        walk(path);
      } else {
        lines.push(`f ${path}`);
      }
    }
  };
  walk('');
  return lines.sort();
}

/** The dkms tree listing with the known layout differences evened out. */
export function treeLayout(roots: Roots): string[] {
  return listing(roots.tree, roots.root)
    .map((line) =>
      VERSION_DIFFERENCES.reduce<string | undefined>((l, rule) => l && rule.apply(l), line),
    )
    .filter((line): line is string => line !== undefined);
}

/** Lines only one side has, as `<label>: only upstream|only ours: <line>`. */
export function differences(label: string, upstream: string[], ours: string[]): string[] {
  const theirs = new Set(upstream);
  const mine = new Set(ours);
  return [
    ...upstream.filter((line) => !mine.has(line)).map((line) => `${label}: only upstream: ${line}`),
    ...ours.filter((line) => !theirs.has(line)).map((line) => `${label}: only ours: ${line}`),
  ];
}
