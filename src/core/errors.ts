import { dirname } from 'node:path';

/**
 * One error type for everything dkms reports to a user. `code` is stable (tests and JSON
 * output use it); `exitCode` is the dkms 3.x exit status the CLI ends with.
 */
export type DkmsErrorCode =
  | 'USAGE'
  | 'UNKNOWN_OPTION'
  | 'NOT_ROOT'
  | 'NO_WRITE_ACCESS'
  | 'MISSING_ARGS'
  | 'CONF_NOT_FOUND'
  | 'CONF_INVALID'
  | 'CONF_SYNTAX'
  | 'NOT_ADDED'
  | 'ALREADY_ADDED'
  | 'SOURCE_MISSING'
  | 'BROKEN'
  | 'BAD_PATH'
  | 'PATCH_MISSING'
  | 'PATCH_FAILED'
  | 'BUILD_FAILED'
  | 'BUILD_SCRIPT_FAILED'
  | 'BUILD_EXCLUDED'
  | 'BUILD_DEPENDS_MISSING'
  | 'SANDBOX_UNAVAILABLE'
  | 'NOT_BUILT'
  | 'NO_KERNEL'
  | 'HEADERS_MISSING'
  | 'INSTALL_FAILED'
  | 'PRE_INSTALL_FAILED'
  | 'DEPMOD_FAILED'
  | 'AUTOINSTALL_FAILED'
  | 'KERNEL_HOOK_FAILED'
  | 'TARBALL'
  | 'SIGN_FAILED'
  | 'LOCKED'
  | 'ABORTED'
  | 'NO_SPACE'
  | 'PERMISSION_DENIED'
  | 'NAME_TOO_LONG'
  | 'NOT_A_DIRECTORY'
  | 'READ_ONLY'
  | 'INTERNAL';

/** dkms 3.x exit statuses, decided here and nowhere else. */
const exitCodes: Record<DkmsErrorCode, number> = {
  USAGE: 1,
  UNKNOWN_OPTION: 2,
  NOT_ROOT: 1,
  NO_WRITE_ACCESS: 1,
  MISSING_ARGS: 1,
  CONF_NOT_FOUND: 4,
  CONF_INVALID: 8,
  CONF_SYNTAX: 8,
  NOT_ADDED: 3,
  ALREADY_ADDED: 3,
  SOURCE_MISSING: 2,
  BROKEN: 4,
  BAD_PATH: 5,
  PATCH_MISSING: 5,
  PATCH_FAILED: 6,
  BUILD_FAILED: 10,
  BUILD_SCRIPT_FAILED: 10,
  BUILD_EXCLUDED: 77,
  BUILD_DEPENDS_MISSING: 13,
  SANDBOX_UNAVAILABLE: 10,
  NOT_BUILT: 6,
  NO_KERNEL: 6,
  HEADERS_MISSING: 21,
  INSTALL_FAILED: 6,
  PRE_INSTALL_FAILED: 101,
  DEPMOD_FAILED: 6,
  AUTOINSTALL_FAILED: 11,
  KERNEL_HOOK_FAILED: 14,
  TARBALL: 6,
  SIGN_FAILED: 1,
  LOCKED: 1,
  ABORTED: 130,
  NO_SPACE: 1,
  PERMISSION_DENIED: 1,
  NAME_TOO_LONG: 1,
  NOT_A_DIRECTORY: 1,
  READ_ONLY: 1,
  INTERNAL: 1,
};

export interface DkmsErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /**
   * Help beyond dkms 3.4.3's own words, shown only to a person (a terminal, or --verbose):
   * the default output stays upstream's.
   */
  advice?: string;
  /** The log that holds the details (make.log of a failed build). */
  logPath?: string;
  /** Lines dkms prints before its `Error!` block (e.g. each `dkms.conf: Error! ...`). */
  preface?: string;
  /** Overrides the exit status the code maps to (e.g. upstream's per-site numbers). */
  exitCode?: number;
  cause?: unknown;
}

export class DkmsError extends Error {
  readonly code: DkmsErrorCode;
  readonly hint: string | undefined;
  readonly advice: string | undefined;
  readonly logPath: string | undefined;
  readonly preface: string | undefined;
  readonly exitCode: number;

  constructor(code: DkmsErrorCode, message: string, options: DkmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DkmsError';
    this.code = code;
    this.hint = options.hint;
    this.advice = options.advice;
    this.logPath = options.logPath;
    this.preface = options.preface;
    this.exitCode = options.exitCode ?? exitCodes[code];
  }
}

export function isDkmsError(error: unknown): error is DkmsError {
  return error instanceof DkmsError;
}

const ROOT_HINT =
  'Run dkms as root, or point --dkmstree, --sourcetree and --installtree at directories you can write to.';

/**
 * A failed system call as a person can act on it: what happened, to which path, what to do.
 * undefined for errors that are not one of these.
 */
function systemError(error: unknown, exitCode: number | undefined): DkmsError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, dest, syscall } = error as NodeJS.ErrnoException & { dest?: string };
  if (!code || !path) return undefined;
  const target = dest ?? path;
  const what = dest ? `${syscall ?? 'copy'} ${path} to ${dest}` : `${syscall ?? 'use'} ${path}`;
  const make = (kind: DkmsErrorCode, message: string, hint: string): DkmsError =>
    new DkmsError(kind, message, { hint, exitCode, cause: error });
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return make(
        'NO_SPACE',
        `No space left on the device holding ${dirname(target)} (${what}).`,
        `Free some space there (df -h ${dirname(target)}; old kernels' modules under /lib/modules and builds under /var/lib/dkms are common culprits), then run the command again.`,
      );
    case 'EACCES':
    case 'EPERM':
      return make('PERMISSION_DENIED', `Permission denied: cannot ${what}.`, ROOT_HINT);
    case 'EROFS':
      return make(
        'READ_ONLY',
        `${target} is on a read-only file system (${what}).`,
        'Remount it read-write, or point dkms at a writable tree.',
      );
    case 'ENAMETOOLONG':
      return make(
        'NAME_TOO_LONG',
        `File name too long: ${target}.`,
        'Use a shorter module name or version (a path component holds at most 255 bytes), or shorter tree paths.',
      );
    case 'ENOTDIR':
      return make(
        'NOT_A_DIRECTORY',
        `A part of ${target} is a file where a directory is needed (${what}).`,
        'Move that file out of the way, or point dkms at another directory.',
      );
    default:
      return undefined;
  }
}

export interface ToDkmsErrorOptions {
  /** The exit status of the step that failed (e.g. install's 6). @default the code's own */
  exitCode?: number;
  /** What an error that is neither a DkmsError nor a known system error becomes. */
  otherwise?: (message: string, cause: unknown) => DkmsError;
}

/**
 * Turns anything thrown into a DkmsError, keeping the original as `cause`: system errors
 * (ENOSPC, EACCES, ENAMETOOLONG, ENOTDIR, EROFS) get their own code, the path and a fix.
 */
export function toDkmsError(error: unknown, options: ToDkmsErrorOptions = {}): DkmsError {
  if (error instanceof DkmsError) return error;
  const system = systemError(error, options.exitCode);
  if (system) return system;
  const message = error instanceof Error ? error.message : String(error);
  if (options.otherwise) return options.otherwise(message, error);
  return new DkmsError('INTERNAL', message, { cause: error, exitCode: options.exitCode });
}

/** The exit status a skipped (BUILD_EXCLUSIVE / OBSOLETE_BY) operation ends with. */
export const EXIT_SKIPPED = 77;
