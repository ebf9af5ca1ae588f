import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crashPoint } from '../../core/crashPoint.js';
import type { EngineStep } from './engineStep.js';

/**
 * `<tree>/<m>/.dkms-journal`: while a plan runs on a module, what is done and what remains.
 * It is rewritten (temporary file, fsync, rename) before every step that changes the disk,
 * so a command killed at any instant leaves a journal the next command on that module (which
 * holds the same lock) or dkmsd at start-up finishes or rolls back. Every temporary name a
 * step uses is in the journal before the step creates it.
 */
export interface Journal {
  version: 1;
  /** e.g. "install of hello/1.0 for 6.1.0-50-amd64 (x86_64)" */
  title: string;
  /** The process that wrote it (for doctor's report). */
  pid: number;
  /** A failing step rolls back the finished ones ('undo') or only stops ('stop'). */
  onError: 'undo' | 'stop';
  /** 'undo' once a rollback began: the remaining steps are the rollback's. */
  mode: 'do' | 'undo';
  done: EngineStep[];
  remaining: EngineStep[];
}

export const JOURNAL_NAME = '.dkms-journal';

export const journalPath = (moduleDir: string): string => join(moduleDir, JOURNAL_NAME);

export function writeJournal(path: string, journal: Journal): void {
  const temp = `${path}.tmp`;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(journal)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  crashPoint('journal:written');
  renameSync(temp, path);
}

/** The journal, `undefined` when there is none, 'unreadable' when it cannot be parsed. */
export function readJournal(path: string): Journal | undefined | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return 'unreadable';
  }
  try {
    const parsed = JSON.parse(text) as Partial<Journal>;
    if (
      parsed.version !== 1 ||
      !Array.isArray(parsed.done) ||
      !Array.isArray(parsed.remaining) ||
      typeof parsed.title !== 'string'
    )
      return 'unreadable';
    return parsed as Journal;
  } catch {
    return 'unreadable';
  }
}

export function clearJournal(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.tmp`, { force: true });
}
