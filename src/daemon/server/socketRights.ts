import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PassedSocket } from '../systemd/listenFds.js';

/**
 * What a connection may ask, fixed when it is accepted: `control` (every request: build,
 * install, remove) or `status` (reads only). It follows from the socket the client reached:
 * the control socket only root can open, the status socket everyone can.
 */
export type Rights = 'control' | 'status';

/** A socket dkmsd listens on: one systemd passed (`fd`), or one it binds at `path`. */
export interface ListenerSpec {
  rights: Rights;
  path: string;
  fd?: number | undefined;
}

/**
 * Pairs the sockets systemd passed with their rights: by FileDescriptorName= (`control`,
 * `status`), else by the path they are bound to; anything else only answers reads.
 */
export function passedListeners(
  passed: readonly PassedSocket[],
  configured: { control: string; status: string },
  pathOf: (fd: number) => string | undefined,
): ListenerSpec[] {
  return passed.map(({ fd, name }) => {
    const path = pathOf(fd);
    const rights: Rights =
      name === 'control' || (name !== 'status' && path === configured.control)
        ? 'control'
        : 'status';
    return {
      rights,
      fd,
      path: path ?? (rights === 'control' ? configured.control : configured.status),
    };
  });
}

const privateTo = (path: string, uid: number | undefined): boolean => {
  try {
    const st = statSync(path);
    return (st.mode & 0o077) === 0 && (uid === undefined || st.uid === uid);
  } catch {
    return false;
  }
};

/**
 * The rights of a connection just accepted on `listener`. The control socket grants control
 * only while dkmsd's user alone can reach it: the socket file is mode 0600 (or stricter) and
 * its own, or it sits in a directory that is. Anything looser (someone ran chmod) downgrades
 * new connections to reads, with the reason in `warning`.
 */
export function rightsAtAccept(
  listener: ListenerSpec,
  uid: number | undefined = process.getuid?.(),
): { rights: Rights; warning?: string } {
  if (listener.rights === 'status') return { rights: 'status' };
  if (privateTo(listener.path, uid) || privateTo(dirname(listener.path), uid))
    return { rights: 'control' };
  return {
    rights: 'status',
    warning: `the control socket ${listener.path} can be reached by other users (its mode or its directory's is looser than 0700/0600): connections get status only`,
  };
}

/** Why a request that changes the system is refused on a connection with these rights. */
export const readOnlyRefusal = (controlSocket: string): string =>
  `this connection can only ask for status; requests that build or remove modules go to the control socket ${controlSocket} (root only)`;
