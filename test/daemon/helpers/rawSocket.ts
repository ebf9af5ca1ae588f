import { connect } from 'node:net';

/** Writes raw bytes to a unix socket and collects what comes back until it closes or `ms` pass. */
export function exchange(
  socketPath: string,
  payload: string | Buffer,
  ms = 3000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received.split('\n').filter((line) => line.trim() !== ''));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.once('close', done);
    // The daemon may close while a large payload is still being written (EPIPE): keep its reply.
    socket.once('error', (error) => {
      if (received) return done();
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => socket.write(payload));
  });
}
