import { fstatSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Reporter } from '../core/host.js';
import type { LogFormat, LogLevel } from './config/daemonConfig.js';
import { journalLine } from './journalFormat.js';

/**
 * True when stdout is connected to journald: systemd sets JOURNAL_STREAM to the stream's
 * `device:inode`, which a redirected stdout no longer matches.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 1): boolean {
  const stream = env['JOURNAL_STREAM'];
  if (!stream) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stream === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}

/** `auto`: human lines for journald, JSON lines anywhere else. */
export function resolveLogFormat(
  format: LogFormat,
  journal: () => boolean = stdoutIsJournal,
): 'json' | 'journal' {
  if (format !== 'auto') return format;
  return journal() ? 'journal' : 'json';
}

/** pino's JSON records, rewritten as `<priority>event: details` lines. */
export function journalDestination(write: (line: string) => void): DestinationStream {
  return {
    write(chunk: string): void {
      for (const json of chunk.split('\n')) {
        if (json === '') continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(json) as Record<string, unknown>;
        } catch {
          record = { level: 30, msg: json };
        }
        write(`${journalLine(record)}\n`);
      }
    },
  };
}

/**
 * dkmsd's log on stdout, synchronous so nothing is lost at exit: JSON lines, or one human line
 * per event with a syslog priority prefix when journald reads it (see resolveLogFormat).
 */
export function createLogger(level: LogLevel, format: LogFormat = 'auto'): Logger {
  const stdout = pino.destination({ dest: 1, sync: true });
  // journald stamps time and pid itself.
  if (resolveLogFormat(format) === 'journal')
    return pino(
      { level, base: {}, timestamp: false },
      journalDestination((line) => stdout.write(line)),
    );
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    stdout,
  );
}

/** Engine progress lines (conf warnings, removals) as log records. */
export function logReporter(logger: Logger): Reporter {
  return {
    info: (line) => logger.debug(line.trim()),
    warn: (line) => logger.warn(line.trim()),
    error: (line) => logger.warn(line.trim()),
    verbose: (line) => logger.trace(line.trim()),
  };
}
