import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobserverAuth } from '../../core/exec.js';

const TOKEN = Buffer.from('+');

/**
 * A GNU make jobserver shared by every build of a queue: a pipe holding `jobs - 1` tokens.
 * Each build's make is handed the pipe (`--jobserver-auth=R,W` in MAKEFLAGS, the two fds
 * inherited), so it and every make it starts, nested ones too, take a token per extra job and
 * give it back when the job ends: the builds share `jobs` CPUs between them however their
 * MAKE lines call make. Like a make, the queue holds one implicit token (its first running
 * build) and takes a token from the pipe for each further build it starts.
 *
 * Node has no pipe(2): the pipe is a FIFO opened read-write (twice, so its open file
 * descriptions are not shared with the queue's own non-blocking reader) and unlinked at once.
 */
export class MakeJobserver {
  private constructor(
    /** The fds builds inherit (blocking, as make expects). */
    private readonly readFd: number,
    private readonly writeFd: number,
    /** The queue's own end: non-blocking, for taking a token without blocking the loop. */
    private readonly pollFd: number,
    readonly jobs: number,
  ) {}

  /** Opens a jobserver for `jobs` parallel jobs, or undefined where no FIFO can be made. */
  static open(jobs: number): MakeJobserver | undefined {
    let dir: string | undefined;
    try {
      dir = mkdtempSync(join(tmpdir(), 'dkms-jobserver-'));
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', ['-m', '0600', fifo], { stdio: 'ignore' });
      const readFd = openSync(fifo, constants.O_RDWR);
      const writeFd = openSync(fifo, constants.O_RDWR);
      const pollFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const server = new MakeJobserver(readFd, writeFd, pollFd, Math.max(1, jobs));
      server.reset();
      return server;
    } catch {
      return undefined;
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** What a build passes to make. */
  get auth(): JobserverAuth {
    return { readFd: this.readFd, writeFd: this.writeFd, jobs: this.jobs };
  }

  /**
   * Drains the pipe and puts `jobs - 1` tokens back. Only while no build runs: a make killed
   * with tokens in hand never returns them, and this is where they come back.
   */
  reset(): void {
    while (this.tryAcquire());
    for (let i = 1; i < this.jobs; i++) this.release();
  }

  /** Takes a token if one is free. */
  tryAcquire(): boolean {
    try {
      return readSync(this.pollFd, Buffer.alloc(1), 0, 1, null) === 1;
    } catch {
      return false;
    }
  }

  release(): void {
    writeSync(this.writeFd, TOKEN);
  }

  close(): void {
    for (const fd of [this.readFd, this.writeFd, this.pollFd]) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
