import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModuleVersionRef } from '../../core/stateTree.js';

/** Stop walking here: past it, a module is big whatever the exact figures. */
const MAX_ENTRIES = 5000;
/** A first build's guess from its source size: make's fixed cost plus a rate per byte. */
const FIXED_MS = 2000;
const MS_PER_BYTE = 0.03;

export interface SourceSize {
  /** Compile units (`.c` files): how much a parallel make can use. */
  units: number;
  /** Bytes of all files. */
  bytes: number;
}

/** Walks a module's source (through its link) for its compile units and size. */
export function measureSource(sourceDir: string): SourceSize {
  let units = 0;
  let bytes = 0;
  let seen = 0;
  const stack = [sourceDir];
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const dir = stack.pop() ?? '';
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        stack.push(path);
        continue;
      }
      if (entry.name.endsWith('.c')) units++;
      try {
        bytes += statSync(path).size;
      } catch {
        // gone meanwhile
      }
    }
  }
  return { units: Math.max(1, units), bytes };
}

/**
 * How long each module's last successful build took, kept in a small JSON file by dkmsd, so
 * the queue starts the longest builds first. A module never built is guessed from its size.
 */
export class BuildDurations {
  private known: Map<string, number> | undefined;

  constructor(private readonly file: string | undefined) {}

  /** Reads the file once; a missing or malformed one means nothing is known. */
  private load(): Map<string, number> {
    if (this.known) return this.known;
    this.known = new Map();
    if (!this.file) return this.known;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      const modules = (parsed as { modules?: unknown } | null)?.modules;
      if (modules && typeof modules === 'object') {
        for (const [module, ms] of Object.entries(modules)) {
          if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) this.known.set(module, ms);
        }
      }
    } catch {
      // nothing known yet
    }
    return this.known;
  }

  /** Expected duration of a module's build (ms). */
  estimate(module: string, size: SourceSize): number {
    return this.load().get(module) ?? Math.round(FIXED_MS + size.bytes * MS_PER_BYTE);
  }

  /** Remembers a successful build's duration and writes the file (temp name, rename). */
  record(module: string, ms: number): void {
    const known = this.load();
    known.set(module, Math.round(ms));
    if (!this.file) return;
    const modules = Object.fromEntries([...known].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify({ version: 1, modules }, null, 2)}\n`);
      renameSync(temp, this.file);
    } catch {
      // a guess next time, nothing worse
    }
  }
}

/** The queue's estimate of a job: its source measured, its duration remembered or guessed. */
export const jobEstimator =
  (durations: BuildDurations, sourceOf: (job: ModuleVersionRef) => string) =>
  (job: ModuleVersionRef): { units: number; estimateMs: number } => {
    const size = measureSource(sourceOf(job));
    return { units: size.units, estimateMs: durations.estimate(job.module, size) };
  };

/** Where dkmsd keeps the durations: beside its failure list. */
export const durationsFile = (stateFile: string): string =>
  join(dirname(stateFile), '.dkmsd-durations.json');
