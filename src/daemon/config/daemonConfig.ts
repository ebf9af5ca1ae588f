import { dirname, join } from 'node:path';
import { parse } from 'ini';
import { z } from 'zod';
import { parallelJobs, resolvePaths, type FrameworkConf } from '../../core/framework.js';
import { defaultParallelJobs, type DkmsPaths } from '../../core/paths.js';

export const DEFAULT_CONFIG_FILE = '/etc/dkms/dkmsd.conf';
/** The control socket: every request; root only. */
export const DEFAULT_SOCKET = '/run/dkms/dkmsd.sock';

/** The status socket (anyone may ask for status) sits beside the control socket. */
export const statusSocketFor = (controlSocket: string): string =>
  join(dirname(controlSocket), 'dkmsd-status.sock');
/** Below systemd/dkmsd.service's TimeoutStopSec=90s, which then kills what is left. */
export const DEFAULT_STOP_TIMEOUT_SEC = 80;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'journal'] as const;
/** `auto`: `journal` when stdout goes to journald (JOURNAL_STREAM), else `json`. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** An external command dkmsd runs when a kernel is finished. */
export type CommandSetting =
  /** Not set: dkmsd picks the system's tool. */
  | { kind: 'auto' }
  /** Set to nothing: never run. */
  | { kind: 'disabled' }
  /** A shell command line; the kernel release is appended as its last argument. */
  | { kind: 'shell'; command: string };

const integer = (min: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .refine((n) => n >= min, `must be at least ${min}`);
const flag = z
  .enum(['yes', 'no', 'true', 'false', '1', '0'])
  .transform((v) => v === 'yes' || v === 'true' || v === '1');
const path = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

/** The keys of dkmsd.conf (top level, no sections); every one is optional. */
export const configFileSchema = z
  .object({
    dkms_tree: path,
    source_tree: path,
    install_tree: path,
    /** Where framework.conf and per-module overrides are. @default '/etc/dkms' */
    conf_dir: path,
    /** The control socket, root only. @default '/run/dkms/dkmsd.sock' (env DKMSD_SOCKET) */
    socket: path,
    /**
     * The status socket, for everyone.
     * @default 'dkmsd-status.sock' beside `socket` (env DKMSD_STATUS_SOCKET)
     */
    status_socket: path,
    /** Builds at once. @default the `make -j` budget (CPUs) */
    concurrency: integer(1),
    /** `make -j` slots shared by all builds. @default framework.conf parallel_jobs, else CPUs */
    make_jobs: integer(1),
    /** Quiet time after a file system event before kernels are looked at. @default 1000 */
    debounce_ms: integer(0),
    initramfs_command: z.string(),
    udev_command: z.string(),
    /** systemd-inhibit, run while building for a kernel that is not running; empty: never. @default systemd-inhibit under systemd */
    inhibit_command: z.string(),
    /** @default 'info' */
    log_level: z.enum(LOG_LEVELS),
    /** JSON lines, or one `<priority>event: details` line per event for journald. @default 'auto' */
    log_format: z.enum(LOG_FORMATS),
    /** Boot catch-up and rescan plan every kernel with headers, not only the running one. @default yes */
    autoinstall_all_kernels: flag,
    /** Remembered build failures. @default '<dkms_tree>/.dkmsd-failures.json' */
    state_file: path,
    /**
     * Seconds SIGTERM waits for a running finish step (depmod, initramfs) before cutting it
     * short; keep it below the unit's TimeoutStopSec (90 s). @default 80
     */
    stop_timeout: integer(1),
  })
  .partial()
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;

export interface DaemonConfig {
  file: string | undefined;
  paths: DkmsPaths;
  framework: FrameworkConf;
  /** The control socket (mode 0600): every request. */
  socket: string;
  /** The status socket (mode 0666): `status` only. */
  statusSocket: string;
  concurrency: number;
  makeJobs: number;
  debounceMs: number;
  initramfsCommand: CommandSetting;
  udevCommand: CommandSetting;
  inhibitCommand: CommandSetting;
  logLevel: LogLevel;
  logFormat: LogFormat;
  allKernels: boolean;
  stateFile: string;
  /** Milliseconds SIGTERM waits for running finish steps. */
  stopTimeoutMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** dkmsd.conf text to its keys; unknown keys and bad values are errors naming the file. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  const raw = parse(text) as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'object' && value !== null)
      throw new ConfigError(
        `${file}: [${key}]: dkmsd.conf has no sections; put every key at the top.`,
      );
    // ini turns `true`/`false` into booleans and a bare key into `true`
    values[key] = typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);
  }
  const result = configFileSchema.safeParse(values);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.join(', ')}`;
      return `${issue.path.join('.')}: ${issue.message}`;
    });
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  return result.data;
}

const commandSetting = (value: string | undefined): CommandSetting => {
  if (value === undefined) return { kind: 'auto' };
  return value.trim() === '' ? { kind: 'disabled' } : { kind: 'shell', command: value.trim() };
};

/**
 * dkmsd.conf over framework.conf over the defaults. framework.conf says a kernel's modules
 * go to every kernel only when `autoinstall_all_kernels` is set; the daemon's own default is yes.
 */
export function resolveDaemonConfig(
  file: ConfigFile,
  framework: FrameworkConf,
  source: { file: string | undefined; confDir: string; env: NodeJS.ProcessEnv },
): DaemonConfig {
  const paths = resolvePaths(
    framework,
    {
      dkmsTree: file.dkms_tree,
      sourceTree: file.source_tree,
      installTree: file.install_tree,
      confDir: source.confDir,
    },
    source.env,
  );
  // a jobserver needs a size: dkms's 0 (no limit) becomes the CPU count
  const makeJobs = file.make_jobs ?? (parallelJobs(framework) || defaultParallelJobs());
  const socket = file.socket ?? (source.env['DKMSD_SOCKET'] || DEFAULT_SOCKET);
  const frameworkAll = framework.autoinstall_all_kernels;
  return {
    file: source.file,
    paths,
    framework,
    socket,
    statusSocket:
      file.status_socket ?? (source.env['DKMSD_STATUS_SOCKET'] || statusSocketFor(socket)),
    concurrency: file.concurrency ?? makeJobs,
    makeJobs,
    debounceMs: file.debounce_ms ?? 1000,
    initramfsCommand: commandSetting(file.initramfs_command),
    udevCommand:
      file.udev_command === undefined ? { kind: 'auto' } : commandSetting(file.udev_command),
    inhibitCommand: commandSetting(file.inhibit_command),
    logLevel: file.log_level ?? 'info',
    logFormat: file.log_format ?? 'auto',
    allKernels: file.autoinstall_all_kernels ?? (frameworkAll ? frameworkAll !== '' : true),
    stateFile: file.state_file ?? `${paths.dkmsTree.replace(/\/+$/, '')}/.dkmsd-failures.json`,
    stopTimeoutMs: (file.stop_timeout ?? DEFAULT_STOP_TIMEOUT_SEC) * 1000,
  };
}
