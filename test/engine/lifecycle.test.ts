import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  makeRoots,
  run,
  type Roots,
  skipWithoutHeaders,
  modinfo,
} from '../helpers/roots.js';

const skip = skipWithoutHeaders;

describe('engine lifecycle with real kernel headers', { skip }, () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([K47, K50]);
  });
  after(() => roots.cleanup());

  it('adds, builds, installs, reports, uninstalls and removes hello', async () => {
    roots.addFixture('hello-1.0');
    const t = assertTree(roots);
    assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
    t.added('hello', '1.0');
    assert.equal((await dkms(roots, ['status'])).stdout, 'hello/1.0: added\n');

    const build = await dkms(roots, ['build', '-m', 'hello', '-v', '1.0', '-k', K47]);
    assert.equal(build.code, 0, build.stderr);
    t.built('hello', '1.0', K47);
    const log = readFileSync(join(roots.tree, 'hello/1.0', K47, ARCH, 'log/make.log'), 'utf8');
    assert.match(
      log,
      /^DKMS \(dkms-3\.4\.3-ts\.[^)]*\) make\.log for hello\/1\.0 for kernel 6\.1\.0-47-amd64 \(x86_64\)\n\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}\n\nBuilding module\(s\)\n/,
    );
    assert.match(log, /\n# command: make -j\d+ KERNELRELEASE=6\.1\.0-47-amd64 -C /);
    assert.match(log, /\n\n# exit code: 0\n# elapsed time: \d\d:\d\d:\d\d\n-{64}\n$/);
    assert.match(build.stdout, /^Building module\(s\)\.\.\.\.* done\.$/m);
    assert.doesNotMatch(build.stdout, /Building module hello|Built hello/);
    assert.ok(
      !existsSync(join(roots.tree, 'hello/1.0/build/hello.c')),
      'build dir is cleaned after a build',
    );

    const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
    assert.equal(install.code, 0, install.stderr);
    t.installed('hello', '1.0', K47);
    const ko = t.moduleFile(K47, 'updates/dkms/hello.ko');
    assert.match(await modinfo(ko, 'vermagic'), /^6\.1\.0-47-amd64 /);
    assert.match(
      readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8'),
      /^updates\/dkms\/hello\.ko:/m,
    );
    assert.equal((await dkms(roots, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: installed\n`);

    const again = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already installed/);

    assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);
    t.noModuleFile(K47, 'updates/dkms/hello.ko');
    assert.ok(!existsSync(join(roots.lib, K47, 'updates')), 'empty directories are removed');
    assert.doesNotMatch(readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8'), /hello/);
    assert.equal((await dkms(roots, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: built\n`);

    assert.equal((await dkms(roots, ['remove', 'hello/1.0', '--all'])).code, 0);
    assert.equal((await dkms(roots, ['status'])).stdout, '');
    assert.ok(!existsSync(join(roots.tree, 'hello')));
  });

  it('builds several modules from subdirectories, renames and strips as asked', async () => {
    roots.addFixture('multi-2.0');
    const r = await dkms(roots, ['install', 'multi/2.0', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    const t = assertTree(roots);
    const alpha = t.moduleFile(K50, 'updates/dkms/multi_alpha.ko');
    const beta = t.moduleFile(K50, 'updates/dkms/multi_beta_renamed.ko');
    const sections = async (file: string): Promise<string> =>
      (await run('readelf', ['-S', file])).stdout;
    assert.doesNotMatch(await sections(alpha), /\.debug_info/);
    assert.match(await sections(beta), /\.debug_info/);
    assert.match(await modinfo(beta, 'vermagic'), /^6\.1\.0-50-amd64 /);
  });

  it('applies PATCH, PATCH_MATCH and PATCH_<text> per kernel', async () => {
    roots.addFixture('patched-1.0');
    for (const k of [K47, K50])
      assert.equal((await dkms(roots, ['build', 'patched/1.0', '-k', k])).code, 0);
    const built = (k: string): string =>
      join(roots.tree, 'patched/1.0', k, ARCH, 'module/patched.ko');
    assert.equal(await modinfo(built(K47), 'dkms_patch'), 'k47');
    assert.equal(await modinfo(built(K50), 'dkms_patch'), '');
    assert.equal(await modinfo(built(K47), 'dkms_patch_old'), 'amd64');
  });

  it('picks the make command by MAKE_MATCH and by the old MAKE_<text> form', async () => {
    roots.addFixture('makematch-1.0');
    roots.addFixture('makeold-1.0');
    for (const k of [K47, K50])
      assert.equal((await dkms(roots, ['build', 'makematch/1.0', '-k', k])).code, 0);
    assert.equal((await dkms(roots, ['build', 'makeold/1.0', '-k', K47])).code, 0);
    const file = (m: string, k: string): string =>
      join(roots.tree, m, '1.0', k, ARCH, `module/${m}.ko`);
    assert.equal(await modinfo(file('makematch', K47), 'dkms_make'), 'make0-default');
    assert.equal(await modinfo(file('makematch', K50), 'dkms_make'), 'make1-match50');
    assert.equal(await modinfo(file('makeold', K47), 'dkms_make'), 'make-amd64-oldform');
  });

  it('evaluates a dkms.conf that is a shell program', async () => {
    roots.addFixture('shelly-1.0');
    for (const k of [K47, K50]) {
      const r = await dkms(roots, ['build', 'shelly/1.0', '-k', k]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
    }
    const file = (k: string): string => join(roots.tree, 'shelly/1.0', k, ARCH, 'module/shelly.ko');
    assert.equal(await modinfo(file(K47), 'shelly_abi'), '47');
    assert.equal(await modinfo(file(K50), 'shelly_abi'), '50');
    assert.equal(await modinfo(file(K47), 'shelly_hz'), '250');
    assert.equal(await modinfo(file(K50), 'shelly_patch1'), 'k50');
  });

  it('reads a CRLF dkms.conf', async () => {
    roots.addFixture('crlf-1.0');
    const r = await dkms(roots, ['build', 'crlf/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    assertTree(roots).built('crlf', '1.0', K47);
  });

  it('skips a BUILD_EXCLUSIVE or OBSOLETE_BY mismatch with exit 77', async () => {
    roots.addFixture('exclusive-1.0');
    roots.addFixture('obsolete-1.0');
    const ex = await dkms(roots, ['build', 'exclusive/1.0', '-k', K47]);
    assert.equal(ex.code, 77);
    assert.match(ex.stderr, /BUILD_EXCLUSIVE/);
    const ob = await dkms(roots, ['install', 'obsolete/1.0', '-k', K47]);
    assert.equal(ob.code, 77);
    assert.match(ob.stderr, /OBSOLETE_BY/);
    assertTree(roots).notBuilt('exclusive', '1.0', K47);
  });

  it('reports a failed build with its make.log and leaves nothing half-built', async () => {
    roots.addFixture('broken-1.0');
    const r = await dkms(roots, ['build', 'broken/1.0', '-k', K47]);
    assert.equal(r.code, 10);
    const log = join(roots.tree, 'broken/1.0/build/make.log');
    const kept = join(roots.tree, `broken/1.0/.failed-${K47}-${ARCH}.make.log`);
    assert.equal(
      r.stderr,
      `\nError! Bad return status for module build on kernel: ${K47} (${ARCH})\nConsult ${log} for more information.\n`,
    );
    assert.match(
      r.stdout,
      /^Building module\(s\)\.\.\.\.*\(bad exit status: 2\)\nFailed command:\nmake -j\d+ KERNELRELEASE=/m,
    );
    assert.match(readFileSync(log, 'utf8'), /error: /);
    assert.equal(readFileSync(kept, 'utf8'), readFileSync(log, 'utf8'));
    assert.ok(
      !existsSync(join(roots.tree, 'broken/1.0', K47)),
      'no kernel directory for a failed build',
    );
    assert.equal((await dkms(roots, ['status', 'broken'])).stdout, 'broken/1.0: added\n');
    assert.equal((await dkms(roots, ['build', 'broken/1.0', '-k', K50])).code, 10);
    assert.ok(existsSync(kept), 'a later build for another kernel keeps the first log');
  });

  it('rejects malformed dkms.conf files with exit 8 and a clear message', async () => {
    for (const name of ['badconf', 'badloc', 'badname']) {
      roots.addFixture(`${name}-1.0`);
      const r = await dkms(roots, ['add', `${name}/1.0`]);
      assert.equal(r.code, 8, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /Bad conf file/);
      assert.ok(!existsSync(join(roots.tree, name)), `${name} must not be added`);
    }
    const loc = await dkms(roots, ['add', 'badloc/1.0']);
    assert.match(loc.stderr, /DEST_MODULE_LOCATION/);
    const syntax = await dkms(roots, ['add', 'badconf/1.0']);
    assert.match(syntax.stderr, /line \d+/);
  });

  it('backs up an in-tree module of the same name and restores it on uninstall', async () => {
    roots.addFixture('shadow-1.0');
    const original = join(roots.lib, K47, 'kernel/drivers/net/dummy.ko');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(roots.lib, K47, 'kernel/drivers/net'), { recursive: true });
    writeFileSync(original, 'original in-tree module\n');
    const r = await dkms(roots, ['install', 'shadow/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    const backup = join(roots.tree, 'shadow/original_module', K47, ARCH);
    assert.equal(readFileSync(join(backup, 'dummy.ko'), 'utf8'), 'original in-tree module\n');
    assert.equal(readFileSync(join(backup, 'dummy.ko.origin'), 'utf8').trim(), original);
    assert.equal(
      (await dkms(roots, ['status', 'shadow'])).stdout,
      `shadow/1.0, ${K47}, ${ARCH}: installed (Original modules exist)\n`,
    );
    assert.equal((await dkms(roots, ['uninstall', 'shadow/1.0', '-k', K47])).code, 0);
    assert.equal(readFileSync(original, 'utf8'), 'original in-tree module\n');
    assert.ok(!existsSync(join(roots.tree, 'shadow/original_module')));
  });

  it('runs PRE_BUILD/POST_BUILD/POST_ADD/PRE_INSTALL/POST_INSTALL/POST_REMOVE', async () => {
    roots.addFixture('prepost-1.0');
    // PRE_BUILD/POST_BUILD append to the record outside the build dir: the sandbox forbids it
    mkdirSync(join(roots.confDir, 'framework.conf.d'), { recursive: true });
    writeFileSync(
      join(roots.confDir, 'framework.conf.d', 'prepost.conf'),
      'build_sandbox_exempt="prepost"\n',
    );
    const record = join(roots.root, 'record.txt');
    const env = { DKMS_FIXTURE_RECORD: record };
    assert.equal((await dkms(roots, ['add', 'prepost/1.0'], env)).code, 0);
    assert.equal((await dkms(roots, ['install', 'prepost/1.0', '-k', K47], env)).code, 0);
    const failing = await dkms(roots, ['install', 'prepost/1.0', '-k', K50], {
      ...env,
      DKMS_FIXTURE_PRE_INSTALL_STATUS: '3',
    });
    assert.equal(failing.code, 101);
    assertTree(roots).notInstalled('prepost', K50);
    assert.equal((await dkms(roots, ['uninstall', 'prepost/1.0', '-k', K47], env)).code, 0);
    const lines = readFileSync(record, 'utf8');
    for (const word of [
      'post_add',
      'pre_build',
      'post_build',
      'pre_install',
      'post_install',
      'post_remove',
    ]) {
      assert.match(lines, new RegExp(word.replace('_', '[-_]'), 'i'), `${word} did not run`);
    }
  });

  it('refuses BUILD_DEPENDS that are not installed (13) and autoinstall orders them', async () => {
    roots.addFixture('depsa-1.0');
    roots.addFixture('depsb-1.0');
    assert.equal((await dkms(roots, ['add', 'depsb/1.0'])).code, 0);
    assert.equal((await dkms(roots, ['add', 'depsa/1.0'])).code, 0);
    const early = await dkms(roots, ['build', 'depsb/1.0', '-k', K50]);
    assert.equal(early.code, 13);
    assert.match(early.stderr, /BUILD_DEPENDS: depsa/);
    const auto = await dkms(roots, ['autoinstall', '-k', K50]);
    assert.match(
      auto.stdout,
      /Autoinstall on 6\.1\.0-50-amd64 succeeded for module\(s\) .*depsa .*depsb\./,
    );
    const t = assertTree(roots);
    t.installed('depsa', '1.0', K50);
    t.installed('depsb', '1.0', K50);
    assert.equal(
      readlinkSync(join(roots.tree, 'depsb', `kernel-${K50}-${ARCH}`)),
      `1.0/${K50}/${ARCH}`,
    );
  });

  it('reports a kernel without headers with the package to install (21)', async () => {
    roots.addFixture('hello-1.0');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(roots.lib, '6.1.0-99-amd64'), { recursive: true });
    const r = await dkms(roots, ['build', 'hello/1.0', '-k', '6.1.0-99-amd64']);
    assert.equal(r.code, 21);
    const lib = join(roots.lib, '6.1.0-99-amd64');
    assert.equal(
      r.stderr,
      `\nError! Your kernel headers for kernel 6.1.0-99-amd64 cannot be found at ${lib}/build or ${lib}/source.\nPlease install your distribution's kernel headers package matching 6.1.0-99-amd64, or use the --kernelsourcedir option to tell DKMS where it's located.\n`,
    );
  });
});
