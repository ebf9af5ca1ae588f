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
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { renameSync, statSync } from 'node:fs';
import { mkdirSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { ACTIONS } from '../commands/actions.js';

const bundle = join(__dirname, 'dkms.cjs');
const cacheDir = process.env['DKMS_TS_CACHE_DIR'] || '/var/cache/dkms-ts';
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
const cacheFile = stamp && join(cacheDir, `dkms-${stamp}-${action}.cache`);
const uid = process.getuid?.();
let cachedData: Buffer | undefined;
if (cacheFile) cachedData = readTrusted(cacheFile);

/**
 * The cache, if only root or this user could have written it: V8 runs what it holds, so a
 * file someone else owns or may change (a DKMS_TS_CACHE_DIR pointing somewhere shared) is
 * ignored, and root then writes its own over it.
 */
function readTrusted(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || (stat.uid !== 0 && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
      return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // not written yet
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
const script = new Script(wrap(source), { filename: bundle, cachedData });

if (cacheFile && (!cachedData || script.cachedDataRejected) && uid === 0) {
  process.once('exit', () => writeCache(cacheFile));
}

/** The cache of what this run compiled, written whole (a temporary renamed over it). */
function writeCache(file: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, script.createCachedData());
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    for (const name of readdirSync(cacheDir)) {
      if (name.startsWith('dkms-') && (!name.startsWith(`dkms-${stamp}-`) || leftBehind(name)))
        unlinkSync(join(cacheDir, name));
    }
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // never made
    }
  }
}

/** A temporary of a writer that was killed before its rename (its process is gone). */
function leftBehind(name: string): boolean {
  const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
  if (!pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
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
