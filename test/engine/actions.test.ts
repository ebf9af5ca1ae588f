import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { moduleLockPath } from '../../src/core/lock.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  fixturesDir,
  makeRoots,
  run,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';

const skip = skipWithoutHeaders;

describe('dkms actions beyond the basic lifecycle', { skip }, () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([K47, K50]);
    roots.addFixture('hello-1.0');
    roots.addFixture('makematch-1.0');
  });
  after(() => roots.cleanup());

  it('applies /etc/dkms overrides and --directive after dkms.conf', async () => {
    writeFileSync(join(roots.confDir, 'makematch-1.0.conf'), 'MAKE_MATCH[1]="-47-"\n');
    assert.equal((await dkms(roots, ['build', 'makematch/1.0', '-k', K47])).code, 0);
    const ko = join(roots.tree, 'makematch/1.0', K47, ARCH, 'module/makematch.ko');
    assert.equal((await run('modinfo', ['-F', 'dkms_make', ko])).stdout.trim(), 'make1-match50');
    const r = await dkms(roots, [
      'build',
      'makematch/1.0',
      '-k',
      K50,
      '--directive',
      'MAKE_MATCH[1]=nomatch',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const ko50 = join(roots.tree, 'makematch/1.0', K50, ARCH, 'module/makematch.ko');
    assert.equal((await run('modinfo', ['-F', 'dkms_make', ko50])).stdout.trim(), 'make0-default');
  });

  it('serializes two dkms processes working on the same module', async () => {
    const [a, b] = await Promise.all([
      dkms(roots, ['install', 'hello/1.0', '-k', K47]),
      dkms(roots, ['install', 'hello/1.0', '-k', K47]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal([a.stdout, b.stdout].filter((out) => /already installed/.test(out)).length, 1);
    assertTree(roots).installed('hello', '1.0', K47);
  });

  it('match installs on a kernel what another kernel has', async () => {
    const r = await dkms(roots, ['match', '--templatekernel', K47, '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    assertTree(roots).installed('hello', '1.0', K50);
  });

  it('kernel_prerm unbuilds everything built for a kernel with one depmod', async () => {
    const r = await dkms(roots, ['kernel_prerm', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    const t = assertTree(roots);
    t.notBuilt('hello', '1.0', K50);
    t.notBuilt('makematch', '1.0', K50);
    t.installed('hello', '1.0', K47);
    assert.ok(!existsSync(join(roots.lib, K50, 'updates')));
    assert.doesNotMatch(readFileSync(join(roots.lib, K50, 'modules.dep'), 'utf8'), /hello/);
  });

  it('kernel_postinst needs exactly one kernel and autoinstalls it', async () => {
    assert.equal((await dkms(roots, ['kernel_postinst'])).code, 4);
    const r = await dkms(roots, ['kernel_postinst', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Autoinstall on 6\.1\.0-50-amd64 succeeded for module\(s\) hello/);
    assertTree(roots).installed('hello', '1.0', K50);
  });

  it('kernel_preinst unbuilds only AUTOINSTALL modules', async () => {
    writeFileSync(join(roots.confDir, 'makematch.conf'), 'AUTOINSTALL="no"\n');
    assert.equal((await dkms(roots, ['build', 'makematch/1.0', '-k', K50])).code, 0);
    const r = await dkms(roots, ['kernel_preinst', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    const t = assertTree(roots);
    t.notBuilt('hello', '1.0', K50);
    t.built('makematch', '1.0', K50);
  });

  it('reports a broken module (dangling source link) and refuses to build it', async () => {
    const { rmSync, symlinkSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(roots.tree, 'ghost/1.0'), { recursive: true });
    symlinkSync(join(roots.src, 'ghost-1.0'), join(roots.tree, 'ghost/1.0/source'));
    const status = await dkms(roots, ['status', 'ghost']);
    assert.equal(status.stdout, 'ghost/1.0: broken\n');
    assert.match(status.stderr, /Missing the module source directory/);
    const build = await dkms(roots, ['build', 'ghost/1.0', '-k', K47]);
    assert.equal(build.code, 4);
    rmSync(join(roots.tree, 'ghost'), { recursive: true });
  });

  it('flags differences between built and installed modules in status', async () => {
    const installed = join(roots.lib, K47, 'updates/dkms/hello.ko');
    writeFileSync(installed, Buffer.concat([readFileSync(installed), Buffer.from('tampered')]));
    const r = await dkms(roots, ['status', 'hello', '-k', K47]);
    assert.equal(
      r.stdout,
      `hello/1.0, ${K47}, ${ARCH}: installed (Differences between built and installed modules)\n`,
    );
  });

  it('prints plans with --dry-run and changes nothing', async () => {
    const listing = async (): Promise<string> =>
      (await run('find', [roots.tree, roots.lib, '-printf', '%p %s %l\n'])).stdout;
    const before = await listing();
    const uninstall = await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47, '--dry-run']);
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.equal(
      uninstall.stdout,
      [
        'uninstall of hello/1.0:',
        `  owe ${K47} (${ARCH}): depmod, initramfs`,
        `  rm -f ${join(roots.lib, K47, 'updates/dkms/hello.ko')}`,
        `  rm -f ${join(roots.tree, 'hello', `kernel-${K47}-${ARCH}`)}`,
        `  depmod ${K47}`,
        '',
      ].join('\n'),
    );
    const remove = await dkms(roots, ['remove', 'hello/1.0', '--all', '--dry-run']);
    assert.match(remove.stdout, /^remove of hello\/1\.0:\n/);
    assert.match(remove.stdout, new RegExp(`rm -rf \\S+/hello/1\\.0/${K47}/${ARCH}\n`));
    assert.match(remove.stdout, /when no kernel is left\n$/);
    const auto = await dkms(roots, ['autoinstall', '-k', K50, '--dry-run']);
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(auto.stdout, new RegExp(`^autoinstall for ${K50} \\(${ARCH}\\):\n`));
    assert.match(auto.stdout, /install of hello\/1\.0 for .*\n +build hello\/1\.0/);
    assert.match(auto.stdout, /copy \S+hello\.ko to \S+\/updates\/dkms\/hello\.ko\n/);
    const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '--dry-run']);
    assert.match(install.stdout, /already installed/);
    const fromDir = join(roots.root, 'elsewhere', 'makeold-1.0');
    cpSync(join(fixturesDir, 'makeold-1.0'), fromDir, { recursive: true });
    const dir = await dkms(roots, ['install', fromDir, '-k', K47, '--dry-run']);
    assert.equal(dir.code, 0, dir.stderr);
    assert.match(dir.stdout, /add \S+makeold-1\.0 to the source tree, build, then install/);
    assert.ok(!existsSync(join(roots.src, 'makeold-1.0')), 'the source is not copied');
    assert.equal(await listing(), before);
  });

  it('completes an install that was killed before the kernel link', async () => {
    assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);
    const trace = join(roots.root, 'crash-trace.txt');
    const full = await dkms(roots, ['install', 'hello/1.0', '-k', K47], {
      DKMS_TEST_CRASH_TRACE: trace,
    });
    assert.equal(full.code, 0, full.stderr);
    const points = readFileSync(trace, 'utf8').trim().split('\n');
    const beforeLink = points.find((line) => line.endsWith(' do:writeLink'))?.split(' ')[0];
    assert.ok(beforeLink, points.join('\n'));
    assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);

    const killed = await dkms(roots, ['install', 'hello/1.0', '-k', K47], {
      DKMS_TEST_CRASH_AT: beforeLink,
    });
    assert.notEqual(killed.code, 0);
    assert.ok(existsSync(join(roots.tree, 'hello/.dkms-journal')), 'the journal stays');
    assert.ok(existsSync(join(roots.lib, K47, 'updates/dkms/hello.ko')), 'the module was copied');
    assert.equal(
      (await dkms(roots, ['status', 'hello', '-k', K47])).stdout,
      `hello/1.0, ${K47}, ${ARCH}: built\n`,
    );
    const dry = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '--dry-run']);
    assert.match(dry.stdout, /complete the interrupted install of hello\/1\.0/);
    assert.ok(existsSync(join(roots.tree, 'hello/.dkms-journal')), 'a dry run changes nothing');

    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /An earlier install of hello\/1\.0 .* was interrupted; completing it first/,
    );
    assert.match(r.stdout, /already installed/);
    assert.ok(!existsSync(join(roots.tree, 'hello/.dkms-journal')));
    assert.ok(
      !existsSync(join(roots.tree, 'hello/original_module')),
      'our own half-installed file is not an original',
    );
    assertTree(roots).installed('hello', '1.0', K47);
    assert.match(
      readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8'),
      /^updates\/dkms\/hello\.ko:/m,
      'the depmod the killed install owed ran',
    );
  });

  it('rejects bad usage with upstream exit codes', async () => {
    assert.equal((await dkms(roots, ['build'])).code, 1);
    assert.equal((await dkms(roots, ['status', '--nope'])).code, 2);
    assert.equal((await dkms(roots, ['install', 'hello/1.0', '--all'])).code, 5);
    assert.equal((await dkms(roots, ['remove', 'nothere/1.0', '--all'])).code, 3);
    assert.equal((await dkms(roots, ['build', 'hello/1.0', '-k', '../../etc'])).code, 16);
    const help = await dkms(roots, ['install', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^dkms install/);
  });
});

describe('a module another dkms is adding this moment', { skip }, () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([K47]);
    roots.addFixture('hello-1.0');
  });
  after(() => roots.cleanup());

  it('is not called broken: dkms looks again once that command let go of the lock', async () => {
    // the other command made the version directory and holds the module's lock; the source
    // link comes a moment later
    const versionDir = join(roots.tree, 'hello', '1.0');
    mkdirSync(versionDir, { recursive: true });
    const started = join(roots.root, 'holder.started');
    const holder = run('flock', [
      moduleLockPath(roots.tree, 'hello'),
      'sh',
      '-c',
      `: >'${started}'; sleep 1; ln -s '${join(roots.src, 'hello-1.0')}' '${join(versionDir, 'source')}'`,
    ]);
    while (!existsSync(started)) await sleep(20);
    const r = await dkms(roots, ['build', 'hello/1.0', '-k', K47]);
    assert.equal((await holder).code, 0);
    assert.equal(r.code, 0, r.stderr);
    assertTree(roots).built('hello', '1.0', K47);
  });
});
