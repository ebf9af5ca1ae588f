import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { shellLine } from '../util/shellQuote.js';
import { runTool } from './exec.js';

/*
 * The build sandbox: bubblewrap around make, PRE_BUILD/POST_BUILD and patch. The whole system
 * is mounted read-only, the build directory is the only writable place besides a private
 * /tmp, there is no network, no other process is visible and /run (sockets) is hidden.
 * This file knows bwrap; which builds get a sandbox is decided in engine/buildSandbox.ts.
 */

/** What one sandboxed build may see and do. */
export interface SandboxSpec {
  /** The bwrap program. */
  bwrap: string;
  /** The one directory the build may write (besides its private /tmp). */
  writableDir: string;
  /**
   * Paths mounted read-only at their own place again. The system is readable anyway; these
   * are the ones a private /tmp would hide (trees under /tmp in tests).
   */
  readable: readonly string[];
  /** Secret files that read as empty inside (the MOK signing key). */
  masked: readonly string[];
  /**
   * Run as this user (a real uid outside the sandbox, through setpriv). Undefined: as the
   * caller, with every capability dropped.
   */
  user?: SandboxUser | undefined;
}

export interface SandboxUser {
  uid: number;
  gid: number;
  /** The setpriv program that drops to it. */
  setpriv: string;
}

/** bwrap's arguments for a spec, before the command to run inside. */
export function bwrapArgs(spec: SandboxSpec, cwd: string): string[] {
  // a fresh /proc lets root write sysctls (core_pattern!) even without capabilities
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--ro-bind',
    '/proc/sys',
    '/proc/sys',
  ];
  args.push('--tmpfs', '/tmp', '--tmpfs', '/run');
  for (const path of spec.readable) args.push('--ro-bind', path, path);
  for (const file of spec.masked) args.push('--ro-bind', '/dev/null', file);
  args.push('--bind', spec.writableDir, spec.writableDir);
  args.push('--unshare-all', '--die-with-parent', '--cap-drop', 'ALL');
  args.push('--setenv', 'TMPDIR', '/tmp', '--setenv', 'HOME', '/tmp', '--chdir', cwd);
  return args;
}

/** The argv that runs `argv` inside the sandbox (setpriv first when a user is set). */
export function sandboxArgv(spec: SandboxSpec, cwd: string, argv: readonly string[]): string[] {
  const inside = [spec.bwrap, ...bwrapArgs(spec, cwd), ...argv];
  if (!spec.user) return inside;
  const { uid, gid, setpriv } = spec.user;
  return [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...inside];
}

/**
 * A shell command line (as dkms runs MAKE) turned into one that runs it in the sandbox. The
 * outer shell execs, so the process group and inherited descriptors (make's jobserver) reach
 * the command unchanged.
 */
export function sandboxCommand(spec: SandboxSpec, cwd: string, command: string): string {
  return `exec ${shellLine(sandboxArgv(spec, cwd, ['bash', '-c', command]))}`;
}

/** Whether bwrap can make a sandbox here at all (it cannot in many unprivileged containers). */
export async function probeBwrap(
  bwrap: string,
  user?: SandboxUser,
): Promise<{ ok: true } | { ok: false; why: string }> {
  const argv = [
    bwrap,
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all'],
    ...['--die-with-parent', '--cap-drop', 'ALL', 'true'],
  ];
  const full = user
    ? [user.setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...argv]
    : argv;
  const [file = bwrap, ...args] = full;
  const result = await runTool(file, args);
  if (result.exitCode === 0) return { ok: true };
  const why = result.exitCode === 127 ? `${file} not found` : result.stderr.trim().split('\n')[0];
  return { ok: false, why: why || `exit status ${result.exitCode}` };
}

/** What a failed step's output says the sandbox stopped. */
export type SandboxSign = 'read-only' | 'network' | 'permission' | 'bwrap';

const SIGNS: [SandboxSign, RegExp][] = [
  ['read-only', /Read-only file system/],
  [
    'network',
    /Network is unreachable|Could not resolve host|Temporary failure in name resolution|Name or service not known|Connection refused|unable to resolve host/i,
  ],
  ['permission', /Permission denied|Operation not permitted/],
  ['bwrap', /^bwrap: /m],
];

/** The sandbox-related errors in a build's output (its log's tail). */
export function sandboxSigns(output: string): SandboxSign[] {
  return SIGNS.filter(([, pattern]) => pattern.test(output)).map(([sign]) => sign);
}

/** The last `bytes` of a file ('' when it cannot be read). */
export function readTail(path: string, bytes = 64 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = statSync(path).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
