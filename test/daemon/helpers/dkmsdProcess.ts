import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dkmsdBin, run, type Roots, type RunOutput } from '../../helpers/roots.js';

/** One JSON log record of dkmsd. */
export interface LogRecord {
  msg: string;
  level: number;
  [key: string]: unknown;
}

/** dkmsd.conf for a sandbox; `extra` adds or overrides keys. */
export function writeDaemonConfig(
  roots: Roots,
  extra: Record<string, string> = {},
): { file: string; socket: string } {
  const socket = join(roots.root, 'dkmsd.sock');
  const keys: Record<string, string> = {
    dkms_tree: roots.tree,
    source_tree: roots.src,
    install_tree: roots.lib,
    conf_dir: roots.confDir,
    socket,
    debounce_ms: '200',
    log_level: 'debug',
    ...extra,
  };
  const file = join(roots.root, 'dkmsd.conf');
  writeFileSync(
    file,
    Object.entries(keys)
      .map(([key, value]) => `${key} = ${value}\n`)
      .join(''),
  );
  return { file, socket };
}

/** A recording stand-in for a tool: appends its arguments to `<root>/<name>.calls`. */
export function recorder(roots: Roots, name: string): { script: string; calls: string } {
  const script = join(roots.root, `${name}.sh`);
  const calls = join(roots.root, `${name}.calls`);
  writeFileSync(script, `#!/bin/sh\necho "$@" >>'${calls}'\n`, { mode: 0o755 });
  return { script, calls };
}

/** A real `bin/dkmsd run` process, its log parsed as it comes. */
export class DkmsdProcess {
  readonly logs: LogRecord[] = [];
  readonly stderr: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private listeners: (() => void)[] = [];
  private partial = '';

  constructor(configFile: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(dkmsdBin, ['run', '--config', configFile], {
      env: { ...process.env, DKMS_OS_RELEASE: '/etc/os-release', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the first record (from the start) that matches; rejects after `timeoutMs`. */
  waitFor(
    predicate: (record: LogRecord) => boolean,
    what: string,
    timeoutMs = 120_000,
  ): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.logs.find(predicate);
        if (found) resolve(found);
        return found !== undefined;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((listener) => listener !== onLog);
        reject(
          new Error(
            `dkmsd did not log ${what} within ${timeoutMs} ms; last records:\n${this.tail()}`,
          ),
        );
      }, timeoutMs);
      const onLog = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((listener) => listener !== onLog);
        }
      };
      this.listeners.push(onLog);
    });
  }

  /** Records with this message. */
  named(msg: string): LogRecord[] {
    return this.logs.filter((record) => record.msg === msg);
  }

  tail(n = 15): string {
    return [...this.logs.slice(-n).map((record) => JSON.stringify(record)), ...this.stderr].join(
      '\n',
    );
  }

  /** SIGTERM, then the exit status. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  exit(): Promise<number | null> {
    return this.exited;
  }

  private onStdout(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.logs.push(JSON.parse(line) as LogRecord);
      } catch {
        this.stderr.push(`stdout: ${line}`);
      }
    }
    for (const listener of [...this.listeners]) listener();
  }
}

/** `bin/dkmsd ARGS` as a client. */
export const dkmsd = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunOutput> =>
  run(dkmsdBin, args, env);

/** dkmsd started on a sandbox (writeDaemonConfig with `extra`), once its boot catch-up is done. */
export async function startDkmsd(
  roots: Roots,
  extra: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<{ daemon: DkmsdProcess; socket: string }> {
  const config = writeDaemonConfig(roots, extra);
  const daemon = new DkmsdProcess(config.file, env);
  await daemon.waitFor((record) => record.msg === 'catch-up finished', 'the boot catch-up');
  return { daemon, socket: config.socket };
}
