import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { which } from './system.js';

/** What the hook library runs (besides shell builtins) when a package manager calls it. */
const HOOK_TOOLS = ['sh', 'dirname', 'mktemp', 'rm', 'sed', 'awk', 'stat', 'uname', 'tail', 'cat'];

/** The shared libraries `ldd` says a binary needs. */
function libraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+)/g)].map((match) => match[1] ?? '').filter(Boolean);
}

function copyInto(root: string, file: string, as = file): void {
  const to = join(root, as);
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
  chmodSync(to, 0o755);
}

/**
 * The smallest root rpm can run scriptlets in (rpm chroots into --root for them): /bin/sh and
 * the tools the hooks call, with their libraries, a real /dev/null and /tmp. Needs root (mknod).
 */
export function makeScratchRoot(root: string): void {
  for (const tool of HOOK_TOOLS) {
    const path = which(tool);
    if (!path) throw new Error(`${tool} is not installed`);
    const real = execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
    const as = tool === 'sh' ? '/bin/sh' : join('/usr/bin', tool);
    copyInto(root, real, as);
    for (const library of libraries(real)) copyInto(root, library);
  }
  mkdirSync(join(root, 'dev'), { recursive: true });
  execFileSync('mknod', ['-m', '666', join(root, 'dev', 'null'), 'c', '1', '3']);
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
}
