import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { BuildRef } from '../../core/stateTree.js';
import { buildKey } from '../../engine/queue/buildQueue.js';

const recordSchema = z.object({
  module: z.string(),
  version: z.string(),
  kernel: z.string(),
  arch: z.string(),
  fingerprint: z.string(),
  code: z.string(),
  message: z.string(),
  logPath: z.string().optional(),
  since: z.string(),
});
const fileSchema = z.object({ version: z.literal(1), failures: z.array(recordSchema) });

export type FailureRecord = z.infer<typeof recordSchema>;

/**
 * Builds that failed, with the fingerprint of what they were built from, kept in a small
 * JSON file so a module that fails at every boot is not rebuilt at every boot.
 */
export class FailureMemory {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly file: string,
    private readonly onError: (message: string) => void,
  ) {}

  /** Reads the file; a missing or unreadable one means nothing is remembered. */
  load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const parsed = fileSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      this.onError(`ignoring ${this.file}: not a dkmsd failure list`);
      return;
    }
    for (const record of parsed.data.failures) this.records.set(buildKey(record), record);
  }

  /** The remembered failure of this build, if what it is built from has not changed. */
  lookup(ref: BuildRef, fingerprint: string): FailureRecord | undefined {
    const record = this.records.get(buildKey(ref));
    return record?.fingerprint === fingerprint ? record : undefined;
  }

  remember(record: FailureRecord): void {
    this.records.set(buildKey(record), record);
    this.save();
  }

  forget(ref: BuildRef): void {
    if (this.records.delete(buildKey(ref))) this.save();
  }

  forgetKernel(kernel: string): void {
    let changed = false;
    for (const [key, record] of this.records) {
      if (record.kernel === kernel) changed = this.records.delete(key) || changed;
    }
    if (changed) this.save();
  }

  list(): FailureRecord[] {
    return [...this.records.values()];
  }

  private save(): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(temp, `${JSON.stringify({ version: 1, failures: this.list() }, null, 1)}\n`);
      renameSync(temp, this.file);
    } catch (error) {
      this.onError(`cannot write ${this.file}: ${String(error)}`);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
