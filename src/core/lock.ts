import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DkmsContext } from './context.js';
import { DkmsError } from './errors.js';

/** A directory only we can write to: a lock file elsewhere could be replaced by a symlink. */
function ownDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Where lock files live: $DKMS_LOCKDIR, /run/lock/dkms-ts, or a per-user temporary dir. */
function lockDir(): string {
  const candidates = [
    process.env['DKMS_LOCKDIR'],
    '/run/lock/dkms-ts',
    join(tmpdir(), `dkms-ts-locks-${process.getuid?.() ?? 'user'}`),
  ];
  for (const dir of candidates) if (dir && ownDir(dir)) return dir;
  throw new DkmsError('LOCKED', `No directory for lock files: ${candidates.join(', ')}.`, {
    hint: 'Set DKMS_LOCKDIR to a directory only this user can write to.',
  });
}

/** The lock file of a module in a dkms tree. */
export function moduleLockPath(dkmsTree: string, module: string): string {
  const key = createHash('sha256').update(`${dkmsTree}\0${module}`).digest('hex').slice(0, 16);
  return join(lockDir(), `${module.replace(/[^\w.+-]/g, '_')}.${key}.lock`);
}

export interface LockOptions {
  /** Gives up with ABORTED when it fires. */
  signal?: AbortSignal | undefined;
  /** Gives up with LOCKED after this long. @default wait as long as it takes */
  timeoutMs?: number | undefined;
  /** Told once, after 1 s of waiting, who holds the lock. */
  onWait?: ((line: string) => void) | undefined;
}

/** The pid the holder wrote into the lock file, if it is still running. */
function holderOf(path: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * Takes flock(2) on our own descriptor of `path`: util-linux `flock` locks the descriptor it
 * inherits as fd 3, which shares our open file description, so the lock stays ours after it
 * exits and the kernel drops it when we close the descriptor or die, even by SIGKILL.
 */
async function flockFd(path: string, what: string, options: LockOptions): Promise<number> {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  const child = spawn('flock', ['--exclusive', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let gaveUp: DkmsError | undefined;
  const giveUp = (error: DkmsError): void => {
    gaveUp ??= error;
    child.kill('SIGKILL');
  };
  const holder = (): string => {
    const pid = holderOf(path);
    return pid === undefined ? 'another process' : `pid ${pid}`;
  };
  const onAbort = (): void =>
    giveUp(new DkmsError('ABORTED', `Gave up waiting for the lock of ${what}.`));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const waitNotice = setTimeout(
    () => options.onWait?.(`Waiting for the lock of ${what} held by ${holder()}...`),
    1000,
  );
  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            giveUp(
              new DkmsError(
                'LOCKED',
                `Timed out after ${options.timeoutMs} ms waiting for the lock of ${what} held by ${holder()}.`,
                { hint: `Try again when ${holder()} has finished.` },
              ),
            ),
          options.timeoutMs,
        );
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (gaveUp) throw gaveUp;
    // Killed by a signal we did not send (Ctrl-C reaches the whole process group).
    if (code === null)
      throw new DkmsError('ABORTED', `Interrupted while waiting for the lock of ${what}.`);
    if (code !== 0) throw new DkmsError('LOCKED', `flock ${path} failed: ${stderr.trim()}`);
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return fd;
  } catch (error) {
    // Closing our descriptor drops the lock in case flock got it just before it was killed.
    closeSync(fd);
    throw error instanceof DkmsError
      ? error
      : new DkmsError('LOCKED', `Cannot take the lock ${path}: ${String(error)}`, {
          cause: error,
          hint: 'Module locks need flock(1) from util-linux on PATH.',
        });
  } finally {
    clearTimeout(waitNotice);
    clearTimeout(timeout);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Holds a module's lock (keyed by dkms tree and module name) while `body` runs, so two dkms
 * processes, the CLI and dkmsd, or two jobs of dkmsd never work on the same module at once.
 * The lock is flock(2): the kernel releases it when its holder dies, so a dead holder's lock
 * is never taken over by two waiters. Each call opens its own descriptor, so callers in one
 * process exclude each other too. Taking it costs one short `flock` process (about 10 ms on
 * a 2-core machine); `dkms status` takes no lock.
 */
export async function withModuleLock<T>(
  dkmsTree: string,
  module: string,
  body: () => Promise<T>,
  options: LockOptions | AbortSignal = {},
): Promise<T> {
  const opts = options instanceof AbortSignal ? { signal: options } : options;
  const fd = await flockFd(moduleLockPath(dkmsTree, module), `module ${module}`, opts);
  try {
    return await body();
  } finally {
    closeSync(fd);
  }
}

export const lockModule = <T>(
  ctx: DkmsContext,
  module: string,
  body: () => Promise<T>,
): Promise<T> =>
  withModuleLock(ctx.paths.dkmsTree, module, body, {
    signal: ctx.signal,
    onWait: (line) => ctx.reporter.info(line),
  });
