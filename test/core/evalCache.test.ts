import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfs } from '../../src/conf/loadConf.js';
import { createContext } from '../../src/core/context.js';
import { MemoryReporter } from '../../src/core/host.js';
import { readFrameworkConf } from '../../src/core/framework.js';
import { EVAL_CACHE_ENTRIES, EvalCache } from '../../src/core/evalCache.js';
import { defaultPaths } from '../../src/core/paths.js';

const root = mkdtempSync(join(tmpdir(), 'eval-cache.'));
after(() => rmSync(root, { recursive: true, force: true }));
const cacheDir = join(root, 'cache');
const cacheFile = join(cacheDir, 'conf-evals.json');
const conf = join(root, 'plain.conf');
const scripted = join(root, 'scripted.conf');

/** The modules one conf gives for a kernel, each load in a fresh context (no in-memory memo). */
async function builtNames(file: string, kernel = '6.1.0-47-amd64'): Promise<string[]> {
  const ctx = createContext({
    paths: {
      ...defaultPaths(),
      dkmsTree: join(root, 'tree'),
      sourceTree: join(root, 'src'),
      installTree: join(root, 'lib'),
      confDir: join(root, 'etc'),
      cacheDir,
    },
    framework: {},
    parallelJobs: 1,
    reporter: new MemoryReporter(),
  });
  const [outcome] = await loadConfs(ctx, [
    { module: 'm', version: '1', kernel, arch: 'x86_64', confPath: file },
  ]);
  assert.ok(outcome?.ok, outcome && !outcome.ok ? outcome.error.message : 'no outcome');
  return outcome.conf.modules.map((module) => module.builtName);
}

const entries = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(cacheFile, 'utf8')) as { entries: Record<string, unknown> }).entries;

/** Replaces every cached value `from` by `to`: what the next load says tells where it came from. */
function plant(from: string, to: string): void {
  writeFileSync(cacheFile, readFileSync(cacheFile, 'utf8').replaceAll(`"${from}"`, `"${to}"`));
}

describe('the cache of evaluated plain dkms.conf files', () => {
  it('is written by root and used instead of bash while the text and inputs are the same', async () => {
    writeFileSync(
      conf,
      'PACKAGE_NAME=m\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/extra\nBUILT_MODULE_NAME[0]="m_$kernelver"\n',
    );
    assert.deepEqual(await builtNames(conf), ['m_6.1.0-47-amd64']);
    assert.equal(Object.keys(entries()).length, 1);
    plant('m_6.1.0-47-amd64', 'from_cache');
    assert.deepEqual(await builtNames(conf), ['from_cache'], 'the second load reads the cache');
    // another value of a variable it reads is another evaluation
    assert.deepEqual(await builtNames(conf, '6.1.0-50-amd64'), ['m_6.1.0-50-amd64']);
    assert.equal(Object.keys(entries()).length, 2);
    // an edited conf (the same size, the same second) is evaluated again
    writeFileSync(
      conf,
      'PACKAGE_NAME=m\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/extra\nBUILT_MODULE_NAME[0]="n_$kernelver"\n',
    );
    assert.deepEqual(await builtNames(conf), ['n_6.1.0-47-amd64']);
  });

  it('is not used when someone else owns it or may write it, nor when damaged', async () => {
    writeFileSync(
      conf,
      'PACKAGE_NAME=m\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/extra\nBUILT_MODULE_NAME[0]=owned\n',
    );
    await builtNames(conf);
    plant('owned', 'planted');
    assert.deepEqual(await builtNames(conf), ['planted']);
    chownSync(cacheFile, 65534, 65534);
    assert.deepEqual(await builtNames(conf), ['owned'], "nobody's cache is not read");
    plant('owned', 'planted');
    chownSync(cacheFile, 0, 0);
    chmodSync(cacheFile, 0o666);
    assert.deepEqual(await builtNames(conf), ['owned'], 'a world-writable cache is not read');
    writeFileSync(cacheFile, '{"schema":1,"entries":{"x":[["BUILT_MODULE_NAME",[[0,{}]]]]');
    // a writer killed before its rename left its temporary; a live writer's is left to it
    const dead = `${cacheFile}.2147483646.tmp`;
    const live = `${cacheFile}.${process.ppid}.tmp`;
    writeFileSync(dead, 'torn');
    writeFileSync(live, 'being written');
    assert.deepEqual(await builtNames(conf), ['owned']);
    assert.equal(existsSync(dead), false, "a dead writer's temporary is removed");
    assert.equal(existsSync(live), true, "a live writer's temporary is left to it");
    rmSync(live);
    // root wrote a good one over each of them
    assert.equal(statSync(cacheFile).uid, 0);
    assert.equal(statSync(cacheFile).mode & 0o777, 0o644);
    assert.ok(Object.keys(entries()).length >= 1);
    assert.deepEqual(
      readdirSync(cacheDir).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary left',
    );
  });

  it('never keeps what a conf that runs commands made', async () => {
    writeFileSync(
      scripted,
      'PACKAGE_NAME=m\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/extra\nBUILT_MODULE_NAME[0]=$(echo s)\n',
    );
    const before = readFileSync(cacheFile, 'utf8');
    assert.deepEqual(await builtNames(scripted), ['s']);
    assert.equal(readFileSync(cacheFile, 'utf8'), before);
  });

  it("serves framework.conf too: Debian's, all comments, and plain settings cost no bash", async () => {
    const confDir = join(root, 'etc-framework');
    mkdirSync(join(confDir, 'framework.conf.d'), { recursive: true });
    writeFileSync(join(confDir, 'framework.conf'), '# dkms_tree="/var/lib/dkms"\n# verbose=""\n');
    writeFileSync(
      join(confDir, 'framework.conf.d', 'sign.conf'),
      'sign_file="/usr/bin/sign-$kernelver"\n',
    );
    assert.deepEqual(await readFrameworkConf(confDir, '6.1', undefined, cacheDir), {
      sign_file: '/usr/bin/sign-6.1',
    });
    plant('/usr/bin/sign-6.1', '/from/cache');
    assert.deepEqual(await readFrameworkConf(confDir, '6.1', undefined, cacheDir), {
      sign_file: '/from/cache',
    });
    // one that runs a command is read by bash every time, and what it says reaches stderr
    writeFileSync(join(confDir, 'framework.conf'), 'echo hello >&2\nverbose=1\n');
    let said = '';
    const framework = await readFrameworkConf(confDir, '6.1', (text) => (said += text), cacheDir);
    assert.deepEqual(framework, { verbose: '1', sign_file: '/usr/bin/sign-6.1' });
    assert.equal(said, 'hello\n');
  });

  it('keeps at most EVAL_CACHE_ENTRIES, dropping what was least recently written or used', () => {
    const dir = join(root, 'bounded');
    const value = (n: number) => new Map([['X', new Map([[0, String(n)]])]]);
    const fill = new EvalCache(dir);
    for (let n = 0; n < EVAL_CACHE_ENTRIES; n++) fill.set(`k${n}`, value(n));
    fill.save();
    const next = new EvalCache(dir);
    assert.deepEqual(next.get('k0'), value(0), 'the oldest, used again');
    next.set('new', value(-1));
    next.save();
    const after = new EvalCache(dir);
    assert.deepEqual(after.get('k0'), value(0), 'kept: it was used');
    assert.equal(after.get('k1'), undefined, 'dropped: the least recently written');
    assert.deepEqual(after.get('new'), value(-1));
    assert.deepEqual(after.get(`k${EVAL_CACHE_ENTRIES - 1}`), value(EVAL_CACHE_ENTRIES - 1));
  });

  it('on a full disk, says the same and leaves nothing behind', async (t) => {
    const full = join(root, 'full');
    mkdirSync(full);
    if (execFileSync('id', ['-u']).toString().trim() !== '0') return t.skip('needs root');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', full]);
    } catch {
      return t.skip('cannot mount a tmpfs here');
    }
    try {
      execFileSync('sh', ['-c', `cat /dev/zero > '${join(full, 'filler')}' 2>/dev/null; true`]);
      const confDir = join(root, 'etc-full');
      mkdirSync(confDir);
      writeFileSync(join(confDir, 'framework.conf'), `sign_file="/${'x'.repeat(20_000)}"\n`);
      for (let i = 0; i < 2; i++) {
        const framework = await readFrameworkConf(confDir, undefined, undefined, full);
        assert.equal(framework.sign_file?.length, 20_001);
      }
      assert.deepEqual(readdirSync(full), ['filler'], 'no cache, no temporary');
    } finally {
      execFileSync('umount', [full]);
    }
  });

  it('is never written by a user other than root', () => {
    const shared = join(root, 'shared');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    chmodSync(root, 0o755);
    const module = fileURLToPath(new URL('../../src/core/evalCache.js', import.meta.url));
    execFileSync('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'node',
      '--input-type=module',
      '-e',
      `const { EvalCache } = await import(${JSON.stringify(module)});
       const cache = new EvalCache(${JSON.stringify(shared)});
       cache.set('k', new Map([['X', new Map([[0, 'v']])]]));
       cache.save();`,
    ]);
    assert.deepEqual(readdirSync(shared), []);
    assert.equal(existsSync(join(shared, 'conf-evals.json')), false);
  });
});
