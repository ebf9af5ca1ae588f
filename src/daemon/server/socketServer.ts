import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { encodeLine } from '../../protocol/framing.js';
import { errorResponse, type RequestHandlers } from '../../protocol/messages.js';
import { Connection } from './connection.js';
import { readOnlyRefusal, rightsAtAccept, type ListenerSpec } from './socketRights.js';

/** The longest request line; a request is a few hundred bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface SocketServerOptions {
  /** The sockets to serve, each with the rights its connections get. */
  listeners: ListenerSpec[];
  handlers: RequestHandlers;
  logger: Logger;
  /** A connection with no request in progress that sends no complete line this long is closed. @default 5000 */
  idleTimeoutMs?: number;
  /** Connections per socket; at the limit the oldest idle one makes room. @default 64 */
  maxConnections?: number;
}

/** Is something answering on this unix socket? */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

interface Listening {
  spec: ListenerSpec;
  server: Server;
  /** Oldest first. */
  connections: Set<Connection>;
  ownsPath: boolean;
}

/**
 * dkmsd's sockets: a control socket only root can reach and a status socket anyone can. A
 * connection's rights are decided once, when it is accepted (socketRights.ts), and each
 * socket has its own connection limit, so clients of one never crowd out the other.
 */
export class SocketServer {
  private readonly listening: Listening[] = [];
  private warned = false;

  constructor(private readonly options: SocketServerOptions) {}

  async start(): Promise<void> {
    for (const spec of this.options.listeners) this.listening.push(await this.listen(spec));
  }

  /** Where the control socket is (the one systemd passed, or the configured path). */
  get controlPath(): string | undefined {
    return this.listening.find((l) => l.spec.rights === 'control')?.spec.path;
  }

  get statusPath(): string | undefined {
    return this.listening.find((l) => l.spec.rights === 'status')?.spec.path;
  }

  /** No new connections; the ones open keep their pending replies. */
  stopAccepting(): void {
    for (const listening of this.listening) listening.server.close();
  }

  /** Ends every connection (with a last message) and removes the socket files we made. */
  closeAll(): void {
    for (const listening of this.listening) {
      for (const connection of listening.connections)
        connection.close(errorResponse('SHUTTING_DOWN', 'dkmsd is stopping'));
      listening.connections.clear();
      if (listening.ownsPath) {
        try {
          unlinkSync(listening.spec.path);
        } catch {
          // already gone
        }
        listening.ownsPath = false;
      }
    }
  }

  private async listen(spec: ListenerSpec): Promise<Listening> {
    const { logger } = this.options;
    const listening: Listening = {
      spec,
      server: createServer((socket) => this.accept(listening, socket)),
      connections: new Set(),
      ownsPath: false,
    };
    const { server } = listening;
    server.on('error', (error) => logger.error({ err: error }, 'socket server error'));
    const bind = (target: { fd: number } | string): Promise<void> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(target, () => {
          server.off('error', reject);
          resolve();
        });
      });
    if (spec.fd !== undefined) {
      await bind({ fd: spec.fd });
      logger.info(
        { socket: spec.path, fd: spec.fd, rights: spec.rights },
        'listening on a socket systemd passed',
      );
      return listening;
    }
    mkdirSync(dirname(spec.path), { recursive: true, mode: 0o755 });
    await this.clearStale(spec.path);
    // Created 0600 from the start: no window in which anyone else can connect.
    const umask = process.umask(0o177);
    try {
      await bind(spec.path);
    } finally {
      process.umask(umask);
    }
    chmodSync(spec.path, spec.rights === 'control' ? 0o600 : 0o666);
    listening.ownsPath = true;
    logger.info({ socket: spec.path, rights: spec.rights }, 'listening');
    return listening;
  }

  private accept(listening: Listening, socket: Socket): void {
    const { logger } = this.options;
    const max = this.options.maxConnections ?? 64;
    if (listening.connections.size >= max) {
      const idle = [...listening.connections].find((connection) => connection.idle);
      if (!idle) {
        // Every connection waits for an answer: this one is turned away, not reset.
        socket.end(encodeLine(errorResponse('BUSY', `${max} requests in progress; try again`)));
        socket.destroySoon();
        return;
      }
      logger.debug(
        { socket: listening.spec.path },
        'connection limit: closing the oldest idle one',
      );
      idle.close(errorResponse('IDLE_TIMEOUT', 'closed to make room for a new connection'));
      listening.connections.delete(idle);
    }
    const { rights, warning } = rightsAtAccept(listening.spec);
    if (warning && !this.warned) {
      this.warned = true;
      logger.warn(warning);
    }
    const connection = new Connection(socket, {
      handlers: this.options.handlers,
      logger,
      maxLineBytes: MAX_REQUEST_BYTES,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 5_000,
      readOnly: rights === 'control' ? undefined : readOnlyRefusal(this.controlPath ?? 'of dkmsd'),
    });
    listening.connections.add(connection);
    socket.once('close', () => listening.connections.delete(connection));
    connection.start();
  }

  /** A socket file nobody answers on is left over from a crash: remove it. */
  private async clearStale(path: string): Promise<void> {
    let isSocket: boolean;
    try {
      isSocket = lstatSync(path).isSocket();
    } catch {
      return;
    }
    if (!isSocket) throw new Error(`${path} exists and is not a socket`);
    if (await answering(path)) throw new Error(`another dkmsd is already listening on ${path}`);
    unlinkSync(path);
  }
}
