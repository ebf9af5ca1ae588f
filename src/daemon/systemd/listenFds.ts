import { readFileSync, readlinkSync } from 'node:fs';

/** The first socket systemd passes (sd_listen_fds: SD_LISTEN_FDS_START). */
export const SD_LISTEN_FDS_START = 3;

/** A listening socket systemd passed, with its FileDescriptorName= when it has one. */
export interface PassedSocket {
  fd: number;
  name: string | undefined;
}

/**
 * The listening sockets systemd passed, if it passed them to this process (LISTEN_PID is
 * ours), named by LISTEN_FDNAMES. The variables are removed so child processes do not take
 * the sockets for theirs.
 */
export function takeListenFds(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): PassedSocket[] {
  const count = Number(env['LISTEN_FDS']);
  const forUs = Number(env['LISTEN_PID']) === pid;
  const names = (env['LISTEN_FDNAMES'] ?? '').split(':');
  for (const name of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[name];
  if (!forUs || !Number.isInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => ({
    fd: SD_LISTEN_FDS_START + i,
    name: names[i] || undefined,
  }));
}

/**
 * The file system path a listening unix socket fd is bound to (node's server.address() does
 * not know it for a socket it did not bind): its inode from /proc/self/fd, looked up in
 * /proc/net/unix. Undefined when it cannot be found.
 */
export function unixSocketPath(fd: number): string | undefined {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (!inode) return undefined;
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path
      const fields = line.trim().split(/\s+/);
      if (fields[6] === inode && fields[7]?.startsWith('/')) return fields[7];
    }
  } catch {
    // no /proc: fall back to the configured path
  }
  return undefined;
}
