/**
 * The seam through which dkms reaches the world outside the process: output to the user and
 * the clock. The CLI, the daemon and the tests wire different hosts, not different code.
 */
export interface Reporter {
  /** Normal progress lines (stdout in the CLI; suppressed with -q). */
  info(line: string): void;
  /** Warnings (stderr). */
  warn(line: string): void;
  /** Errors that do not stop the whole command (stderr). */
  error(line: string): void;
  /** Extra detail shown with --verbose. */
  verbose(line: string): void;
  /** A transient status line while a long step runs (terminals only); '' clears it. */
  progress?: ((text: string) => void) | undefined;
}

export const silentReporter: Reporter = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  verbose: () => undefined,
};

/** Collects lines, for tests and for the daemon's per-job results. */
export class MemoryReporter implements Reporter {
  readonly lines: { level: 'info' | 'warn' | 'error' | 'verbose'; text: string }[] = [];
  info(text: string): void {
    this.lines.push({ level: 'info', text });
  }
  warn(text: string): void {
    this.lines.push({ level: 'warn', text });
  }
  error(text: string): void {
    this.lines.push({ level: 'error', text });
  }
  verbose(text: string): void {
    this.lines.push({ level: 'verbose', text });
  }
  text(): string {
    return this.lines.map((line) => line.text).join('\n');
  }
}
