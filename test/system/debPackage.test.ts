import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DKMS_VERSION, PACKAGE_VERSION } from '../../src/core/version.js';
import { K47, makeRoots, run, skipWithoutHeaders } from '../helpers/roots.js';
import { buildDeb, debField } from './helpers/deb.js';

const work = mkdtempSync(join(tmpdir(), 'dkms-deb-test.'));
const out = join(work, 'out');
const root = join(work, 'root');
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
      '/usr/lib/dkms-ts/dkms/dkms.mjs',
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
          (/\.(m?js|ts)$/.test(f) && !/^\/usr\/lib\/dkms-ts\/dkms\/[\w-]+\.mjs$/.test(f)),
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
    join(root, 'usr/lib/dkms-ts', cmd === 'dkms' ? 'dkms/dkms.mjs' : `${cmd}.cjs`);

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
