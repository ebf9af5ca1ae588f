/** Largest line either side accepts; a status reply with many kernels stays far below. */
export const MAX_LINE_BYTES = 1024 * 1024;

export const encodeLine = (message: unknown): string => `${JSON.stringify(message)}\n`;

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` is an error, so a client
 * that never sends a newline cannot make the daemon buffer without bound.
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes: number = MAX_LINE_BYTES) {}

  /** The complete lines in `chunk` (without newline), or 'too-large'. */
  push(chunk: Buffer): string[] | 'too-large' {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxBytes) return 'too-large';
      lines.push(Buffer.concat([...this.pending, piece]).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.pendingBytes + rest.length > this.maxBytes) return 'too-large';
    if (rest.length > 0) {
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  /** Bytes of an unfinished line. */
  get buffered(): number {
    return this.pendingBytes;
  }
}
