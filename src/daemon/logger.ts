import { pino, type Logger } from 'pino';
import type { Reporter } from '../core/host.js';
import type { LogLevel } from './config/daemonConfig.js';

/** JSON lines on stdout (journald keeps them); synchronous, so nothing is lost at exit. */
export function createLogger(level: LogLevel): Logger {
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
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
