/**
 * Starts the bundled dkms (scripts/bundle.sh: `dkms.cjs` next to this file) from V8's code
 * cache, so a command does not compile the parts of the bundle it runs at every start (about
 * 10 ms of `dkms status`; docs/benchmarks.md "Bundled start-up"). Node 20 has no
 * `module.enableCompileCache()` (node 22): this does the same with `vm.Script`'s cachedData.
 *
 * One cache per action (what `dkms status` compiles is not what `dkms install` does), in
 * DKMS_TS_CACHE_DIR (default /var/cache/dkms-ts), named after the bundle's inode, change time
 * and size: V8 checks only the source's length, so a cache of an older bundle of the same length
 * must never be found. A missing or rejected cache (node was upgraded: V8 rejects a cache of
 * another V8 or other flags) is written by the next run that may write there (root), after the
 * command finished, and the caches of older bundles go. Nothing here may change what the
 * command does: every failure of the cache leaves an ordinary compile.
 */
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { ACTIONS } from '../commands/actions.js';
import { cacheDirFrom, readTrusted, writeCacheFile } from '../core/cacheFiles.js';

const bundle = join(__dirname, 'dkms.cjs');
const cacheDir = cacheDirFrom();
const actions: readonly string[] = ACTIONS;
const action = process.argv.slice(2).find((arg) => actions.includes(arg)) ?? 'other';

const source = readFileSync(bundle, 'utf8');
let stamp: string | undefined;
try {
  // the package's files all carry one reproducible mtime: the inode and its change time (set
  // when dpkg put the file there) tell two bundles apart
  const { ino, ctimeNs, size } = statSync(bundle, { bigint: true });
  stamp = `${ino}-${ctimeNs}-${size}`;
} catch {
  // no cache without a stamp
}
const cacheName = stamp && `dkms-${stamp}-${action}.cache`;
// V8 runs what the cache holds: one someone else owns or may change is not used (cacheFiles.ts)
const cachedData = cacheName ? readTrusted(join(cacheDir, cacheName)) : undefined;

const script = new Script(wrap(source), { filename: bundle, cachedData });

if (cacheName && (!cachedData || script.cachedDataRejected) && process.getuid?.() === 0) {
  process.once('exit', () => writeCache(cacheName));
}

/** The cache of what this run compiled, written whole; the caches of other bundles go. */
function writeCache(name: string): void {
  if (!writeCacheFile(cacheDir, name, script.createCachedData())) return;
  try {
    for (const entry of readdirSync(cacheDir)) {
      if (entry.startsWith('dkms-') && !entry.startsWith(`dkms-${stamp ?? ''}-`))
        unlinkSync(join(cacheDir, entry));
    }
  } catch {
    // another writer cleaned up first
  }
}

const bundleModule = { exports: {}, filename: bundle, id: bundle, loaded: false };
(script.runInThisContext() as (...args: unknown[]) => void).call(
  bundleModule.exports,
  bundleModule.exports,
  createRequire(bundle),
  bundleModule,
  bundle,
  __dirname,
);
