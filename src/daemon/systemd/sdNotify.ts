import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * sd_notify through systemd's `systemd-notify --pid=<dkmsd>` (node has no datagram unix
 * sockets). Does nothing without NOTIFY_SOCKET. The variables are taken out of the
 * environment so builds do not inherit them.
 */
export class SdNotifier {
  private readonly notifySocket: string | undefined;
  private readonly watchdogUsec: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private lastStatus = '';

  constructor(
    private readonly logger: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.notifySocket = env['NOTIFY_SOCKET'] || undefined;
    const usec = Number(env['WATCHDOG_USEC']);
    const forUs = !env['WATCHDOG_PID'] || Number(env['WATCHDOG_PID']) === process.pid;
    this.watchdogUsec =
      this.notifySocket && forUs && Number.isFinite(usec) && usec > 0 ? usec : undefined;
    for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[name];
  }

  get enabled(): boolean {
    return this.notifySocket !== undefined;
  }

  /** READY=1, and the watchdog pings at half the interval systemd asked for. */
  ready(status: string): void {
    this.lastStatus = status;
    this.send(['READY=1', `STATUS=${status}`]);
    if (this.watchdogUsec !== undefined && !this.watchdog) {
      this.watchdog = setInterval(
        () => this.send(['WATCHDOG=1']),
        Math.max(500, Math.floor(this.watchdogUsec / 2000)),
      );
    }
  }

  status(status: string): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.send([`STATUS=${status}`]);
  }

  /** STOPPING=1; the watchdog stops. Resolves when the notifications are out. */
  async stopping(status: string): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.send(['STOPPING=1', `STATUS=${status}`]);
    await this.chain;
  }

  private send(assignments: string[]): void {
    const socket = this.notifySocket;
    if (!socket) return;
    // One at a time, so systemd sees READY before the first STATUS.
    this.chain = this.chain.then(
      () =>
        new Promise<void>((resolve) => {
          const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...assignments], {
            env: { ...process.env, NOTIFY_SOCKET: socket },
            stdio: 'ignore',
          });
          child.on('error', (error) => {
            this.logger.warn({ err: error }, 'systemd-notify failed');
            resolve();
          });
          child.on('exit', (code) => {
            if (code !== 0) this.logger.warn({ code, assignments }, 'systemd-notify failed');
            resolve();
          });
        }),
    );
  }
}
