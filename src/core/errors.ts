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
  INTERNAL: 1,
};

export interface DkmsErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
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
  readonly logPath: string | undefined;
  readonly preface: string | undefined;
  readonly exitCode: number;

  constructor(code: DkmsErrorCode, message: string, options: DkmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DkmsError';
    this.code = code;
    this.hint = options.hint;
    this.logPath = options.logPath;
    this.preface = options.preface;
    this.exitCode = options.exitCode ?? exitCodes[code];
  }
}

export function isDkmsError(error: unknown): error is DkmsError {
  return error instanceof DkmsError;
}

/** Turns anything thrown into a DkmsError, keeping the original as `cause`. */
export function toDkmsError(error: unknown): DkmsError {
  if (error instanceof DkmsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DkmsError('INTERNAL', message, { cause: error });
}

/** The exit status a skipped (BUILD_EXCLUSIVE / OBSOLETE_BY) operation ends with. */
export const EXIT_SKIPPED = 77;
