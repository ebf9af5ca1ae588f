import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/** One held lock: the kernel it is for and why, as `dkmsd status` shows it. */
export interface HeldInhibitor {
  kernel: string;
  why: string;
  since: string;
}

interface Lock extends HeldInhibitor {
  child: ChildProcess;
}

/**
 * No reboot into a half-built kernel: while dkmsd builds for a kernel that is not running, it
 * holds a `systemd-inhibit --what=shutdown:sleep --mode=delay` lock, one per kernel, released
 * when the kernel is finished. systemd is asked through systemd-inhibit (it runs `cat` on a
 * pipe from dkmsd: closing the pipe, or dkmsd dying, ends it and frees the lock). Without a
 * systemd-inhibit program every call is a no-op.
 */
export class ShutdownInhibitor {
  private readonly locks = new Map<string, Lock>();

  constructor(
    /** The systemd-inhibit program, or undefined: no locks. */
    private readonly program: string | undefined,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.program !== undefined;
  }

  /** Takes the lock for a kernel (once; later calls while held do nothing). */
  hold(kernel: string): void {
    if (!this.program || this.locks.has(kernel)) return;
    const why = `Building DKMS modules for kernel ${kernel}; rebooting into it now would start it without them`;
    const child = spawn(
      this.program,
      ['--what=shutdown:sleep', '--mode=delay', '--who=dkmsd', `--why=${why}`, 'cat'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on(
      'data',
      (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2048)),
    );
    child.on('error', (error) =>
      this.logger.warn({ kernel, err: error }, 'systemd-inhibit failed'),
    );
    child.on('exit', (code, signal) => {
      if (this.locks.get(kernel)?.child === child) {
        this.locks.delete(kernel);
        this.logger.warn(
          { kernel, code, signal, stderr: stderr.trim() || undefined },
          'shutdown inhibitor ended early',
        );
      }
    });
    child.stdin?.on('error', () => undefined);
    this.locks.set(kernel, { kernel, why, since: new Date().toISOString(), child });
    this.logger.info({ kernel, why }, 'holding off shutdown and sleep');
  }

  /** Frees a kernel's lock. */
  release(kernel: string): void {
    const lock = this.locks.get(kernel);
    if (!lock) return;
    this.locks.delete(kernel);
    lock.child.stdin?.end();
    this.logger.info({ kernel }, 'shutdown and sleep allowed again');
  }

  held(): HeldInhibitor[] {
    return [...this.locks.values()].map(({ kernel, why, since }) => ({ kernel, why, since }));
  }

  /** Frees every lock (dkmsd stops). */
  stop(): void {
    for (const kernel of [...this.locks.keys()]) this.release(kernel);
  }
}
