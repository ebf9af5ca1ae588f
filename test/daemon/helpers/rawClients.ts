import { connect, type Socket } from 'node:net';

/** A connected raw client and everything it has received. */
export interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves when the daemon has closed the connection. */
  closed: Promise<void>;
}

/** Opens a raw connection and resolves once it is connected. */
export function openRaw(path: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/**
 * Writes `total` bytes without a newline as fast as the socket takes them, until the daemon
 * closes the connection; resolves with how many bytes it managed to hand over.
 */
export function flood(path: string, total: number): Promise<{ written: number }> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ written });
    };
    socket.on('error', finish);
    socket.on('close', finish);
    const pump = (): void => {
      while (!done && written < total) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('connect', pump);
  });
}
