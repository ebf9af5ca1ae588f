import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DkmsContext } from './context.js';
import { DkmsError } from './errors.js';

/** Where lock files live: /run/lock/dkms when writable, else the temporary directory. */
function lockDir(): string {
  const candidates = [
    process.env['DKMS_LOCKDIR'],
    '/run/lock/dkms-ts',
    join(tmpdir(), `dkms-ts-locks-${process.getuid?.() ?? 'user'}`),
  ];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      // a directory root made earlier exists for everyone, but only root can write to it
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      // try the next place
    }
  }
  return tmpdir();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds a per-module lock (keyed by dkms tree and module name) so two dkms processes working
 * on the same module serialize. Stale locks of dead processes are taken over.
 */
export async function withModuleLock<T>(
  dkmsTree: string,
  module: string,
  body: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const key = createHash('sha256').update(`${dkmsTree}\0${module}`).digest('hex').slice(0, 16);
  const path = join(lockDir(), `${module.replace(/[^\w.+-]/g, '_')}.${key}.lock`);
  // Within one process (the daemon) jobs on the same module queue here; the file guards
  // against other processes.
  const previous = held.get(path) ?? Promise.resolve();
  let release = (): void => undefined;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const chained = previous.then(() => mine);
  held.set(path, chained);
  await previous;
  try {
    return await withFileLock(path, module, body, signal);
  } finally {
    release();
    if (held.get(path) === chained) held.delete(path);
  }
}

const held = new Map<string, Promise<void>>();

async function withFileLock<T>(
  path: string,
  module: string,
  body: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue;
      }
      if (!Number.isInteger(owner) || !alive(owner) || owner === process.pid) {
        try {
          unlinkSync(path);
        } catch {
          // someone else took it over first
        }
        continue;
      }
      if (signal?.aborted)
        throw new DkmsError('ABORTED', `Gave up waiting for the lock on ${module}.`);
      await sleep(100);
    }
  }
  try {
    return await body();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

export const lockModule = <T>(
  ctx: DkmsContext,
  module: string,
  body: () => Promise<T>,
): Promise<T> => withModuleLock(ctx.paths.dkmsTree, module, body, ctx.signal);
