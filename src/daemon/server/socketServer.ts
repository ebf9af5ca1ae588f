import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { MAX_LINE_BYTES } from '../../protocol/framing.js';
import { errorResponse, type RequestHandlers } from '../../protocol/messages.js';
import { Connection } from './connection.js';
import { mutatingRefusal } from './socketGuard.js';
import { unixSocketPath } from '../systemd/listenFds.js';

export interface SocketServerOptions {
  /** The socket's path (also where the permission check looks when systemd made it). */
  path: string;
  /** A listening socket passed by systemd (LISTEN_FDS). */
  listenFd: number | undefined;
  handlers: RequestHandlers;
  logger: Logger;
  /** @default 30000 */
  idleTimeoutMs?: number;
  /** @default 64 */
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

export class SocketServer {
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  private ownsPath = false;
  /** Where the socket file is: the configured path, or where systemd made it. */
  private path: string;

  constructor(private readonly options: SocketServerOptions) {
    this.path = options.path;
  }

  async start(): Promise<void> {
    const { path, listenFd, logger } = this.options;
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? 64;
    server.on('error', (error) => logger.error({ err: error }, 'socket server error'));
    this.server = server;
    if (listenFd !== undefined) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd: listenFd }, () => resolve());
      });
      this.path = unixSocketPath(listenFd) ?? this.path;
      logger.info({ socket: this.path, fd: listenFd }, 'listening on the socket systemd passed');
      return;
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await this.clearStale(path);
    // Created 0600 from the start: no window in which anyone else can connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    this.ownsPath = true;
    logger.info({ socket: path }, 'listening');
  }

  /** No new connections; the ones open keep their pending replies. */
  stopAccepting(): void {
    this.server?.close();
  }

  /** Ends every connection (with a last message) and removes the socket file we made. */
  closeAll(): void {
    for (const connection of this.connections)
      connection.close(errorResponse('SHUTTING_DOWN', 'dkmsd is stopping'));
    this.connections.clear();
    if (this.ownsPath) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
      this.ownsPath = false;
    }
  }

  private accept(socket: import('node:net').Socket): void {
    const connection = new Connection(socket, {
      handlers: this.options.handlers,
      logger: this.options.logger,
      maxLineBytes: MAX_LINE_BYTES,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
      mutatingRefusal: () => mutatingRefusal(this.path),
    });
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
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
