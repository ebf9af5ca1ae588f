import { connect } from 'node:net';
import { LineDecoder, MAX_LINE_BYTES, encodeLine } from '../../protocol/framing.js';
import { responseSchema, type RequestInput, type Response } from '../../protocol/messages.js';

export type ClientResult =
  | { kind: 'reply'; response: Response }
  /** Nothing listening (no socket file, refused, no permission, connect timeout). */
  | { kind: 'unreachable'; reason: string }
  /** The daemon closed the connection without answering (it stopped). */
  | { kind: 'closed' }
  | { kind: 'timeout'; seconds: number }
  | { kind: 'bad-reply'; reason: string };

export interface ClientOptions {
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** How long to wait for the answer; 0 = as long as it takes. */
  replyTimeoutMs: number;
}

/** Sends one request to dkmsd and waits for its one answer. Never throws. */
export function sendRequest(
  socketPath: string,
  request: RequestInput,
  options: ClientOptions,
): Promise<ClientResult> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const decoder = new LineDecoder(MAX_LINE_BYTES);
    let connected = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: ClientResult): void => {
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    timers.push(
      setTimeout(
        () =>
          connected ||
          finish({ kind: 'unreachable', reason: `no answer from ${socketPath} when connecting` }),
        options.connectTimeoutMs ?? 5000,
      ),
    );
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeLine(request));
      if (options.replyTimeoutMs > 0)
        timers.push(
          setTimeout(
            () => finish({ kind: 'timeout', seconds: options.replyTimeoutMs / 1000 }),
            options.replyTimeoutMs,
          ),
        );
    });
    socket.on('data', (chunk: Buffer) => {
      const lines = decoder.push(chunk);
      if (lines === 'too-large')
        return finish({ kind: 'bad-reply', reason: 'the reply is too large' });
      const [line] = lines;
      if (line === undefined) return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        return finish({ kind: 'bad-reply', reason: 'the reply is not JSON' });
      }
      const parsed = responseSchema.safeParse(json);
      finish(
        parsed.success
          ? { kind: 'reply', response: parsed.data }
          : { kind: 'bad-reply', reason: parsed.error.issues[0]?.message ?? 'unexpected reply' },
      );
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      finish(
        connected
          ? { kind: 'closed' }
          : {
              kind: 'unreachable',
              reason: `cannot connect to ${socketPath}: ${error.code ?? error.message}`,
            },
      );
    });
    socket.once('close', () => finish({ kind: 'closed' }));
  });
}
