import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { readTrusted, writeCacheFile } from './cacheFiles.js';

/**
 * What bash made of plain configuration files (src/core/plainFiles.ts), kept across commands in
 * `<cacheDir>/conf-evals.json`, so `dkms status` does not run bash again for a dkms.conf it
 * already evaluated with the same inputs. The key is a hash of everything the result depends
 * on: the files' texts, the values of the variables they read, and the names asked for; a
 * plain file depends on nothing else. Values from here become make commands run as root, so
 * the file is used only if root (or this user) owns it and nobody else may write it, and only
 * root writes it (a temporary renamed over it). Losing it only costs a bash evaluation.
 */

const FILE = 'conf-evals.json';
const SCHEMA = 2;
/** Entries kept; the least recently written or used go first. */
export const EVAL_CACHE_ENTRIES = 256;

export type EvalValues = Map<string, Map<number, string>>;
type Stored = [string, [number, string][]][];

/** The cache key of one evaluation. */
export function evalKey(
  texts: readonly string[],
  inputs: readonly (readonly [string, string])[],
  names: readonly string[],
): string {
  const input = JSON.stringify([SCHEMA, texts, inputs, names]);
  return `${hash53(input, 1)}${hash53(input, 2)}-${input.length.toString(36)}`;
}

/**
 * A 53-bit string hash (the cyrb53 construction). Not node:crypto: loading it costs every
 * command about 4 ms. Two seeds and the length make an accidental collision among a few hundred
 * entries out of reach; one made on purpose would need a dkms.conf written by someone whose
 * MAKE already runs as root.
 */
function hash53(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36).padStart(11, '0');
}

export class EvalCache {
  /** What the file held when last read, and its identity then. */
  private loaded: { identity: string | undefined; entries: Map<string, Stored> } | undefined;
  /** Added since the last save. */
  private readonly pending = new Map<string, Stored>();
  /** Found since the last save: kept as recently used when the file is written anyway. */
  private readonly used = new Set<string>();

  constructor(private readonly dir: string) {}

  get(key: string): EvalValues | undefined {
    const stored = this.pending.get(key) ?? this.load().get(key);
    if (stored) this.used.add(key);
    return stored && new Map(stored.map(([name, items]) => [name, new Map(items)]));
  }

  set(key: string, values: EvalValues): void {
    this.pending.set(
      key,
      [...values].map(([name, items]) => [name, [...items]]),
    );
  }

  /** Writes what was added, when this process may (root). Never throws. */
  save(): void {
    if (this.pending.size === 0) return;
    if (process.getuid?.() !== 0) {
      this.pending.clear();
      return;
    }
    // oldest first: what was not used since the last write, then what was, then what is new
    const merged = new Map(this.load());
    for (const key of this.used) {
      const stored = merged.get(key);
      if (stored === undefined) continue;
      merged.delete(key);
      merged.set(key, stored);
    }
    for (const [key, stored] of this.pending) {
      merged.delete(key);
      merged.set(key, stored);
    }
    this.pending.clear();
    this.used.clear();
    const entries = [...merged].slice(-EVAL_CACHE_ENTRIES);
    const data = JSON.stringify({ schema: SCHEMA, entries: Object.fromEntries(entries) });
    if (writeCacheFile(this.dir, FILE, data))
      this.loaded = { identity: identityOf(join(this.dir, FILE)), entries: new Map(entries) };
  }

  /** The file's entries, read again when it changed (dkmsd lives long; commands write it). */
  private load(): Map<string, Stored> {
    const file = join(this.dir, FILE);
    const identity = identityOf(file);
    if (this.loaded && this.loaded.identity === identity) return this.loaded.entries;
    const entries = new Map<string, Stored>();
    this.loaded = { identity, entries };
    const text = identity === undefined ? undefined : readTrusted(file)?.toString('utf8');
    if (text === undefined) return entries;
    try {
      const parsed = JSON.parse(text) as { schema?: unknown; entries?: unknown };
      if (parsed.schema === SCHEMA && isRecord(parsed.entries)) {
        for (const [key, stored] of Object.entries(parsed.entries)) {
          if (isStored(stored)) entries.set(key, stored);
        }
      }
    } catch {
      // a damaged cache is as good as none; root writes a new one
    }
    return entries;
  }
}

/** Device, inode, size and times: any write, rename, chown or chmod changes it. */
function identityOf(file: string): string | undefined {
  try {
    const st = lstatSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

const caches = new Map<string, EvalCache>();

/** The cache kept in `dir` (one per directory for the life of the process). */
export function evalCacheIn(dir: string): EvalCache {
  let cache = caches.get(dir);
  if (!cache) caches.set(dir, (cache = new EvalCache(dir)));
  return cache;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isStored(value: unknown): value is Stored {
  return (
    Array.isArray(value) &&
    value.every(
      (entry) =>
        Array.isArray(entry) &&
        typeof entry[0] === 'string' &&
        Array.isArray(entry[1]) &&
        (entry[1] as unknown[]).every(
          (item) => Array.isArray(item) && Number.isInteger(item[0]) && typeof item[1] === 'string',
        ),
    )
  );
}
