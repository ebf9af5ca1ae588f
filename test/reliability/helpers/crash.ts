import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { dkmsBin, rootsIn, type Roots } from '../../helpers/roots.js';

/** A copy of a sandbox (the module's source link re-pointed into the copy). */
export function copyRoots(from: Roots, links: { module: string; version: string }): Roots {
  const root = mkdtempSync(join(tmpdir(), 'dkms-crash.'));
  cpSync(from.root, root, { recursive: true, verbatimSymlinks: true });
  const source = join(root, 'tree', links.module, links.version, 'source');
  rmSync(source, { force: true });
  symlinkSync(join(root, 'src', `${links.module}-${links.version}`), source);
  return rootsIn(root);
}

export interface KilledRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `dkms ARGS` in a sandbox, with extra environment; resolves with how it ended. */
export function dkmsRun(
  roots: Roots,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<KilledRun> {
  return new Promise((resolve) => {
    const child = execFile(
      dkmsBin,
      [...args, ...roots.treeArgs],
      {
        env: { ...process.env, DKMS_OS_RELEASE: '/etc/os-release', ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (_error, stdout, stderr) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
  });
}

/** The crash points a run went through (`DKMS_TEST_CRASH_TRACE`), as their labels in order. */
export async function tracePoints(roots: Roots, args: string[]): Promise<string[]> {
  const trace = join(roots.root, 'crash-trace.txt');
  rmSync(trace, { force: true });
  const run = await dkmsRun(roots, args, { DKMS_TEST_CRASH_TRACE: trace });
  assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
  const lines = existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : [];
  rmSync(trace, { force: true });
  return lines.map((line) => line.slice(line.indexOf(' ') + 1));
}

/** mulberry32: a small deterministic generator, so a seed always means the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every path under `dir` (no link followed), relative to it. */
export function walk(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string): void => {
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      found.push(relative(dir, full));
      if (entry.isDirectory()) visit(full);
    }
  };
  visit(dir);
  return found;
}

/** Names only an interrupted command leaves behind. */
export const isTemporary = (path: string): boolean => {
  const name = path.split('/').pop() ?? '';
  return (
    name.startsWith('.tmp_') ||
    /\.dkms-[\w-]+\.tmp$/.test(name) ||
    name.startsWith('.dkms-journal') ||
    /^dkms-depmod\./.test(name)
  );
};
