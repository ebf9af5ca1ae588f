import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { LineDecoder, encodeLine } from '../../protocol/framing.js';
import {
  errorResponse,
  isMutating,
  requestSchema,
  type Request,
  type RequestHandlers,
  type Response,
} from '../../protocol/messages.js';

export interface ConnectionOptions {
  handlers: RequestHandlers;
  logger: Logger;
  maxLineBytes: number;
  /**
   * Closes a connection that has no request in progress and completes no request line for
   * this long (bytes without a newline do not count: a slow drip is closed too).
   */
  idleTimeoutMs: number;
  /** Set when this connection may only ask for status: why other requests are refused. */
  readOnly: string | undefined;
}

/** Requests read but not answered yet; a client that floods the socket is cut off. */
const MAX_PENDING_REQUESTS = 64;

const dispatch = (handlers: RequestHandlers, request: Request): Promise<Response> => {
  // The union is narrowed per member by the handler map's type; TS cannot follow it here.
  const handler = handlers[request.type] as (request: Request) => Promise<Response>;
  return handler(request);
};

/**
 * One client: lines in, one response per request, in order. Anything malformed gets an error
 * reply; nothing a client sends can throw out of here.
 */
export class Connection {
  private readonly decoder: LineDecoder;
  private readonly lines: string[] = [];
  private working = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.decoder = new LineDecoder(options.maxLineBytes);
  }

  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) =>
      this.options.logger.debug({ err: error }, 'client connection error'),
    );
    this.socket.on('close', () => this.onClose());
    this.armIdle();
  }

  /** No request in progress or waiting: the connection can be closed without losing work. */
  get idle(): boolean {
    return !this.working && this.lines.length === 0;
  }

  /** Says goodbye to a client; `message` answers a pending request, or says why when idle. */
  close(message?: Response): void {
    if (this.closed) return;
    if (message) this.write(message);
    this.closed = true;
    this.hangUp();
  }

  /** Stops reading (the rest of what the client sends is never read), flushes, closes. */
  private hangUp(): void {
    this.clearIdle();
    this.socket.pause();
    this.socket.end();
    this.socket.destroySoon();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const lines = this.decoder.push(chunk);
    if (lines === 'too-large') {
      this.lines.length = 0;
      this.close(
        errorResponse(
          'TOO_LARGE',
          `a request line may be at most ${this.options.maxLineBytes} bytes`,
        ),
      );
      return;
    }
    this.lines.push(...lines.filter((line) => line.trim() !== ''));
    if (this.lines.length > MAX_PENDING_REQUESTS) {
      this.lines.length = 0;
      this.close(
        errorResponse(
          'TOO_LARGE',
          `more than ${MAX_PENDING_REQUESTS} requests waiting for an answer`,
        ),
      );
      return;
    }
    if (this.lines.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.working) return;
    this.working = true;
    this.clearIdle();
    try {
      for (
        let line = this.lines.shift();
        line !== undefined && !this.closed;
        line = this.lines.shift()
      ) {
        this.write(await this.answer(line));
      }
    } finally {
      this.working = false;
      this.armIdle();
    }
  }

  private async answer(line: string): Promise<Response> {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return errorResponse('BAD_JSON', 'each request must be one JSON object on one line');
    }
    const parsed = requestSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) =>
        issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
      );
      return errorResponse('BAD_REQUEST', problems.join('; '));
    }
    const request = parsed.data;
    if (isMutating(request) && this.options.readOnly)
      return errorResponse('NOT_PERMITTED', this.options.readOnly);
    this.options.logger.debug({ request }, 'request');
    try {
      return await dispatch(this.options.handlers, request);
    } catch (error) {
      this.options.logger.error({ err: error, request }, 'request failed');
      return errorResponse('INTERNAL', error instanceof Error ? error.message : String(error));
    }
  }

  private write(response: Response): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(encodeLine(response));
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.closed || this.working) return;
    this.idleTimer = setTimeout(
      () =>
        this.close(
          errorResponse('IDLE_TIMEOUT', `no request for ${this.options.idleTimeoutMs} ms; closing`),
        ),
      this.options.idleTimeoutMs,
    );
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private onClose(): void {
    this.closed = true;
    this.clearIdle();
  }
}
