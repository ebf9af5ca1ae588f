import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DKMS_VERSION, PACKAGE_VERSION } from '../../src/core/version.js';
import { K47, makeRoots, run, skipWithoutHeaders } from '../helpers/roots.js';
import { buildDeb, debField } from './helpers/deb.js';

const work = mkdtempSync(join(tmpdir(), 'dkms-deb-test.'));
const out = join(work, 'out');
const root = join(work, 'root');
// dkms started from the package writes V8's code cache here, not in /var/cache/dkms-ts
process.env['DKMS_TS_CACHE_DIR'] = join(work, 'code-cache');
let deb = '';
let files: string[] = [];

before(async () => {
  deb = await buildDeb(out);
  const extract = await run('dpkg-deb', ['-x', deb, root]);
  assert.equal(extract.code, 0, extract.stderr);
  files = (await run('dpkg-deb', ['-c', deb])).stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(/\s+/)[5]?.replace(/^\./, '') ?? '');
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('scripts/package-deb.sh', () => {
  it('writes exactly one dkms-ts_<version>_all.deb', () => {
    assert.deepEqual(readdirSync(out), [`dkms-ts_${PACKAGE_VERSION}_all.deb`]);
  });

  it('replaces Debian dkms and depends on node and the module build tools', async () => {
    assert.equal(await debField(deb, 'Package'), 'dkms-ts');
    assert.equal(await debField(deb, 'Version'), PACKAGE_VERSION);
    assert.equal(await debField(deb, 'Architecture'), 'all');
    assert.equal(await debField(deb, 'Provides'), 'dkms (= 3.4.3)');
    assert.equal(await debField(deb, 'Conflicts'), 'dkms');
    assert.equal(await debField(deb, 'Replaces'), 'dkms');
    const depends = (await debField(deb, 'Depends')).split(/,\s*/);
    for (const dep of ['nodejs (>= 20.19)', 'kmod', 'patch', 'make | build-essential'])
      assert.ok(depends.includes(dep), `Depends has ${dep}: ${depends.join(', ')}`);
  });

  it('ships the commands bundled, the hooks, units, docs and conffiles', async () => {
    for (const path of [
      '/usr/sbin/dkms',
      '/usr/sbin/dkmsd',
      '/usr/lib/dkms-ts/dkms/start.cjs',
      '/usr/lib/dkms-ts/dkms/dkms.cjs',
      '/usr/lib/dkms-ts/dkmsd.cjs',
      '/usr/lib/dkms/common.postinst',
      '/usr/lib/dkms/dkms_autoinstaller',
      '/usr/lib/dkms-ts/hooks/lib/dkms-hook-lib.sh',
      '/usr/lib/dkms-ts/hooks/debian/dkms-package-helper',
      '/etc/kernel/header_postinst.d/dkms',
      '/etc/kernel/postinst.d/dkms',
      '/etc/kernel/prerm.d/dkms',
      '/etc/kernel/preinst.d/dkms',
      '/usr/lib/kernel/install.d/40-dkms.install',
      '/usr/lib/systemd/system/dkmsd.service',
      '/usr/lib/systemd/system/dkmsd.socket',
      '/etc/dkms/framework.conf',
      '/etc/dkms/framework.conf.d/autoinstall_all_kernels.conf',
      '/usr/share/man/man8/dkms.8.gz',
      '/usr/share/man/man8/dkmsd.8.gz',
      '/usr/share/bash-completion/completions/dkms',
      '/usr/share/doc/dkms-ts/copyright',
      '/usr/share/doc/dkms-ts/changelog.gz',
    ])
      assert.ok(files.includes(path), `${path} is in the package`);
    // No sources and no node_modules: dkms's bundle is its only set of modules.
    assert.deepEqual(
      files.filter(
        (f) =>
          f.includes('node_modules') ||
          (/\.[cm]?(js|ts)$/.test(f) &&
            !/^\/usr\/lib\/dkms-ts\/(dkms\/(start|dkms)|dkmsd)\.cjs$/.test(f)),
      ),
      [],
    );
    const conffiles = (await run('dpkg-deb', ['--info', deb, 'conffiles'])).stdout.trim();
    assert.deepEqual(
      conffiles.split('\n').sort(),
      files.filter((f) => f.startsWith('/etc/') && !f.endsWith('/')).sort(),
    );
  });

  it('is lintian-clean apart from its documented overrides', async (t) => {
    if ((await run('sh', ['-c', 'command -v lintian'])).code !== 0)
      return t.skip('lintian is not installed (scripts/setup.sh installs it)');
    const lintian = await run('lintian', ['--pedantic', '--info', deb]);
    const findings = lintian.stdout.split('\n').filter((line) => /^[EWIPX]: /.test(line));
    assert.deepEqual(findings, [], lintian.stdout);
  });
});

describe('the bundled commands', { skip: skipWithoutHeaders }, () => {
  const bundle = (cmd: string): string =>
    join(root, 'usr/lib/dkms-ts', cmd === 'dkms' ? 'dkms/start.cjs' : `${cmd}.cjs`);

  it('know their version without package.json', async () => {
    assert.equal(existsSync(join(root, 'usr/lib/dkms-ts/package.json')), false);
    assert.equal(
      (await run('node', [bundle('dkms'), '--version'])).stdout.trim(),
      `dkms-${DKMS_VERSION}`,
    );
    assert.equal(
      (await run('node', [bundle('dkmsd'), '--version'])).stdout.trim(),
      `dkmsd ${PACKAGE_VERSION}`,
    );
  });

  it('build and install a real module as the unbundled dkms does', async () => {
    const roots = makeRoots([K47]);
    try {
      roots.addFixture('hello-1.0');
      const env = { ...process.env, DKMS_OS_RELEASE: '/etc/os-release' };
      const dkms = (args: string[]) =>
        run('node', [bundle('dkms'), ...args, ...roots.treeArgs], env);
      assert.equal((await dkms(['add', 'hello/1.0'])).code, 0);
      const install = await dkms(['install', 'hello/1.0', '-k', K47]);
      assert.equal(install.code, 0, install.stdout + install.stderr);
      const status = await dkms(['status']);
      assert.equal(status.stdout, `hello/1.0, ${K47}, x86_64: installed\n`);
    } finally {
      roots.cleanup();
    }
  });
});

describe("dkms's code cache (src/cli/bundleStart.cts)", { skip: skipWithoutHeaders }, () => {
  const start = (): string => join(root, 'usr/lib/dkms-ts/dkms/start.cjs');
  const stampOf = (): string => {
    const { ino, ctimeNs, size } = statSync(join(root, 'usr/lib/dkms-ts/dkms/dkms.cjs'), {
      bigint: true,
    });
    return `${ino}-${ctimeNs}-${size}`;
  };

  it('is written per action by root, used, replaced when V8 rejects it', async () => {
    const cache = join(work, 'cache-1');
    const roots = makeRoots([K47]);
    try {
      roots.addFixture('hello-1.0');
      const env = { DKMS_OS_RELEASE: '/etc/os-release', DKMS_TS_CACHE_DIR: cache };
      const dkms = (args: string[]) => run('node', [start(), ...args, ...roots.treeArgs], env);
      assert.equal((await dkms(['add', 'hello/1.0'])).code, 0);
      const stamp = stampOf();
      // an older bundle's cache goes when this one's is written
      mkdirSync(cache, { recursive: true });
      writeFileSync(join(cache, 'dkms-1-2-3-status.cache'), 'old');
      const first = await dkms(['status']);
      assert.equal(first.stdout, 'hello/1.0: added\n', first.stderr);
      // (and conf-evals.json: what bash made of hello's dkms.conf, src/core/evalCache.ts)
      assert.deepEqual(readdirSync(cache).sort(), [
        'conf-evals.json',
        `dkms-${stamp}-add.cache`,
        `dkms-${stamp}-status.cache`,
      ]);
      const statusCache = join(cache, `dkms-${stamp}-status.cache`);
      const written = readFileSync(statusCache);
      assert.ok(written.length > 10_000, `a real cache: ${written.length} bytes`);
      // accepted: the next run leaves it as it is and says the same
      assert.deepEqual(await dkms(['status']), first);
      assert.deepEqual(readFileSync(statusCache), written);
      // what a writer killed before its rename left goes with the next write; a live one's stays
      const dead = `${statusCache}.2147483646.tmp`;
      const live = `${statusCache}.${process.pid}.tmp`;
      writeFileSync(dead, 'torn');
      writeFileSync(live, 'being written');
      // garbage (a cache of another node, a torn file): an ordinary compile, then a new cache
      writeFileSync(statusCache, Buffer.alloc(written.length, 7));
      assert.deepEqual(await dkms(['status']), first);
      assert.notDeepEqual(readFileSync(statusCache), Buffer.alloc(written.length, 7));
      assert.equal(existsSync(dead), false, "a dead writer's temporary is removed");
      assert.equal(existsSync(live), true, "a live writer's temporary is left to it");
      rmSync(live);
      // a cache someone else owns, or others may change, is not run: root writes its own
      chownSync(statusCache, 65534, 65534);
      assert.deepEqual(await dkms(['status']), first);
      assert.equal(statSync(statusCache).uid, 0);
      chmodSync(statusCache, 0o666);
      assert.deepEqual(await dkms(['status']), first);
      assert.equal(statSync(statusCache).mode & 0o777, 0o644);
      assert.equal((await dkms(['--version'])).stdout, `dkms-${DKMS_VERSION}\n`);
      assert.ok(existsSync(join(cache, `dkms-${stamp}-other.cache`)));
      assert.deepEqual(
        readdirSync(cache).filter((name) => name.endsWith('.tmp')),
        [],
        'no temporary file left',
      );
    } finally {
      roots.cleanup();
    }
  });

  it('is never written by a user other than root', async () => {
    const cache = join(work, 'cache-2');
    mkdirSync(cache, { mode: 0o777 });
    chmodSync(cache, 0o777);
    chmodSync(work, 0o755);
    const version = await run(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', start(), '--version'],
      { DKMS_TS_CACHE_DIR: cache },
    );
    assert.equal(version.stdout, `dkms-${DKMS_VERSION}\n`, version.stderr);
    assert.deepEqual(readdirSync(cache), []);
  });
});
