import { closeSync, openSync, writeSync } from 'node:fs';
import { CLEAN_PATH } from './bashEval.js';

export interface RunResult {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  aborted: boolean;
  /** Last lines of output, for error messages. */
  tail: string;
  /** All of stdout and stderr as written, when `keepOutput` was asked for. */
  output?: string;
}

/** A GNU make jobserver a command's makes join: the pipe's fds in this process, its size. */
export interface JobserverAuth {
  readFd: number;
  writeFd: number;
  jobs: number;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Output is appended here as it is produced. */
  logFile?: string;
  signal?: AbortSignal | undefined;
  /** Milliseconds; 0 or undefined = none. */
  timeout?: number | undefined;
  /** The pipe is inherited as fds 3 and 4 and named in MAKEFLAGS (make 4.3's pipe form). */
  jobserver?: JobserverAuth | undefined;
  /** Keep the whole output (one stream, in the order written) in `output`. */
  keepOutput?: boolean;
}

/** The fds and MAKEFLAGS that let the makes of a command join a jobserver. */
function jobserverOptions(
  jobserver: JobserverAuth | undefined,
  env: Record<string, string | undefined>,
): { stdio: ['ignore', 'pipe', 'pipe', Fd, Fd] } | { stdin: 'ignore' } {
  if (!jobserver) return { stdin: 'ignore' };
  env['MAKEFLAGS'] = ` -j${jobserver.jobs} --jobserver-auth=3,4`;
  return { stdio: ['ignore', 'pipe', 'pipe', jobserver.readFd as Fd, jobserver.writeFd as Fd] };
}

// execa's types name fds 3 to 9 only; any open fd is passed on at run time.
type Fd = 3;

/** The environment builds see: dkms's own, with a sane PATH when it has none. */
export function buildEnv(
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return { ...process.env, PATH: process.env['PATH'] || CLEAN_PATH, ...extra };
}

// execa is a large module graph: load it on the first child process, so commands that run
// none (status, a no-op autoinstall) do not pay for it.
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = (): Promise<typeof import('execa')> => (execaModule ??= import('execa'));

const tailOf = (text: string, lines = 20): string =>
  text.split('\n').slice(-lines).join('\n').trim();

/**
 * Runs a shell command line (as dkms runs MAKE, PRE_BUILD...) in its own process group,
 * streaming stdout+stderr into the log. On abort or timeout the whole group is killed, so
 * make's children do not outlive it.
 */
export async function runShell(command: string, options: RunOptions): Promise<RunResult> {
  const { execa } = await loadExeca();
  const fd = options.logFile ? openSync(options.logFile, 'a') : undefined;
  let recent = '';
  let output = '';
  const env = { ...(options.env ?? buildEnv()) };
  const child = execa('bash', ['-c', command], {
    cwd: options.cwd,
    env,
    ...jobserverOptions(options.jobserver, env),
    extendEnv: false,
    detached: true,
    all: true,
    buffer: false,
    reject: false,
  });
  let aborted = false;
  let timedOut = false;
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000).unref();
  };
  const onAbort = (): void => {
    aborted = true;
    killGroup();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const timer =
    options.timeout && options.timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, options.timeout)
      : undefined;
  child.all?.on('data', (chunk: Buffer) => {
    if (fd !== undefined) writeSync(fd, chunk);
    recent = (recent + chunk.toString('utf8')).slice(-8192);
    if (options.keepOutput) output += chunk.toString('utf8');
  });
  try {
    const result = await child;
    return {
      exitCode: result.exitCode,
      signal: result.signal ?? undefined,
      timedOut,
      aborted,
      tail: tailOf(recent),
      ...(options.keepOutput ? { output } : {}),
    };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (fd !== undefined) closeSync(fd);
  }
}

export interface CapturedResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool (depmod, strip, patch, modinfo...) and captures its output. */
export async function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string; input?: string; env?: Record<string, string | undefined> } = {},
): Promise<CapturedResult> {
  const { execa } = await loadExeca();
  const result = await execa(file, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.input === undefined ? {} : { input: options.input }),
    env: options.env ?? buildEnv(),
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
  });
  if (result.failed && result.exitCode === undefined) {
    return { exitCode: 127, stdout: '', stderr: result.shortMessage ?? 'could not run' };
  }
  return {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/** Appends text to a log file. */
export function appendLog(path: string, text: string): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
