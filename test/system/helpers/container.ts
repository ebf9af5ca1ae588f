import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the system tests keep what survives a run: the Debian 13 root tarball, apt's .debs. */
export const CACHE_DIR = process.env['DKMS_TS_SYSTEM_CACHE'] ?? '/var/cache/dkms-ts-system';
export const ROOT_TARBALL = join(CACHE_DIR, 'trixie-minbase.tar');
export const APT_ARCHIVES = join(CACHE_DIR, 'archives');

export interface ExecResult {
  code: number;
  output: string;
}

const have = (tool: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

/** Why the container tests cannot run here, or undefined when they can try. */
export function containerSkipReason(): string | undefined {
  if (process.env['DKMS_TS_SYSTEM_TESTS'] === '0') return 'DKMS_TS_SYSTEM_TESTS=0';
  if (process.getuid?.() !== 0) return 'systemd-nspawn needs root';
  for (const tool of ['systemd-nspawn', 'nsenter', 'mmdebstrap'])
    if (!have(tool)) return `${tool} is missing (scripts/setup.sh installs it)`;
  return undefined;
}

/** The cached Debian 13 minbase root with systemd (mmdebstrap, about 30 s when missing). */
export function ensureRootTarball(log: (text: string) => void): void {
  if (existsSync(ROOT_TARBALL)) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  // mmdebstrap picks the format from the name: keep `.tar` at its end.
  const partial = ROOT_TARBALL.replace(/\.tar$/, '.partial.tar');
  const made = spawnSync(
    'mmdebstrap',
    [
      '--variant=minbase',
      '--include=systemd,systemd-sysv,dbus,apt,ca-certificates',
      'trixie',
      partial,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  log(`$ mmdebstrap trixie -> ${ROOT_TARBALL}\n${made.stdout}${made.stderr}`);
  if (made.status !== 0) throw new Error(`mmdebstrap failed: ${made.stderr.slice(-2000)}`);
  spawnSync('mv', [partial, ROOT_TARBALL]);
}

/**
 * A Debian 13 root booted with systemd as PID 1 under systemd-nspawn (no machined: commands
 * run inside through nsenter on the container's PID 1). Every command and its output go to
 * `transcript`.
 */
export class Container {
  private nspawn: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  pid1 = 0;

  constructor(
    readonly root: string,
    private readonly transcript: string,
    private readonly consoleLog: string,
  ) {}

  log(text: string): void {
    appendFileSync(this.transcript, text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Boots the container and waits for `systemctl is-system-running` to settle. */
  async boot(timeoutMs = 120_000): Promise<string> {
    mkdirSync(join(APT_ARCHIVES, 'partial'), { recursive: true });
    const consoleFd = openSync(this.consoleLog, 'a');
    const child = spawn(
      'systemd-nspawn',
      [
        '--keep-unit',
        '--register=no',
        '--console=read-only',
        '-D',
        this.root,
        `--bind=${APT_ARCHIVES}:/var/cache/apt/archives`,
        '-b',
      ],
      { stdio: ['ignore', consoleFd, consoleFd] },
    );
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (this.pid1 === 0) {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited: ${this.consoleTail()}`);
      if (Date.now() > deadline) throw new Error('the container has no PID 1');
      // nspawn's first child is short-lived (it forks the container's init and exits): the
      // PID 1 to enter is the child that runs systemd.
      const children = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
      for (const pid of children.stdout.trim().split('\n').filter(Boolean)) {
        let comm = '';
        try {
          comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          continue;
        }
        if (comm === 'systemd' || comm === 'init') this.pid1 = Number(pid);
      }
      if (this.pid1 === 0) await sleep(200);
    }
    for (;;) {
      const state = await this.exec('systemctl is-system-running --wait', { quiet: true });
      const text = state.output.trim();
      if (text === 'running' || text === 'degraded') return text;
      if (Date.now() > deadline) throw new Error(`system state ${text}: ${this.consoleTail()}`);
      await sleep(500);
    }
  }

  consoleTail(): string {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8').slice(-3000) : '';
  }

  /** Runs a shell script inside the container as root, with a clean environment. */
  exec(script: string, options: { timeoutMs?: number; quiet?: boolean } = {}): Promise<ExecResult> {
    const { timeoutMs = 900_000, quiet = false } = options;
    return new Promise((resolve) => {
      const child = spawn(
        'nsenter',
        [
          '-t',
          String(this.pid1),
          '-a',
          'env',
          '-i',
          'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          'DEBIAN_FRONTEND=noninteractive',
          'HOME=/root',
          'LANG=C.UTF-8',
          'sh',
          '-c',
          script,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (!quiet) this.log(`# ${script}\n${output}[exit ${code ?? 'killed'}]\n`);
        resolve({ code: code ?? -1, output });
      });
    });
  }

  /** `systemctl poweroff` inside, then waits for systemd-nspawn to end. */
  async poweroff(timeoutMs = 90_000): Promise<void> {
    if (!this.nspawn || this.nspawn.exitCode !== null) return;
    await this.exec('systemctl poweroff', { quiet: true });
    const timer = setTimeout(() => this.nspawn?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.pid1 = 0;
  }
}
