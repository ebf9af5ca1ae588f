import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeBwrap } from '../../src/core/sandbox.js';
import { decideSandbox, sandboxHint } from '../../src/engine/buildSandbox.js';
import {
  ARCH,
  K47,
  dkms,
  makeRoots,
  modinfo,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';

const works = { path: '/usr/bin/bwrap', works: true } as const;

describe('which builds get the sandbox', () => {
  it('sandboxes by default when bwrap works', () => {
    assert.deepEqual(decideSandbox({ framework: {}, module: 'm', bwrap: works }), {
      sandbox: true,
      bwrap: '/usr/bin/bwrap',
    });
  });

  it('none, and modules in build_sandbox_exempt, build unconfined without a notice', () => {
    const none = decideSandbox({ framework: { build_sandbox: 'none' }, module: 'm', bwrap: works });
    assert.equal(none.sandbox, false);
    const exempt = decideSandbox({
      framework: { build_sandbox_exempt: ' nvidia  m\n' },
      module: 'm',
      bwrap: works,
    });
    assert.ok(!exempt.sandbox && !exempt.notice && !exempt.error);
    assert.match(exempt.reason, /build_sandbox_exempt/);
    const other = decideSandbox({
      framework: { build_sandbox_exempt: 'mm' },
      module: 'm',
      bwrap: works,
    });
    assert.equal(other.sandbox, true);
  });

  it('falls back with a notice by default, refuses when bwrap was asked for', () => {
    const missing = { path: undefined, works: false, why: 'not installed' } as const;
    const fallback = decideSandbox({ framework: {}, module: 'm', bwrap: missing });
    assert.ok(!fallback.sandbox && !fallback.error);
    assert.match(fallback.notice ?? '', /^Building without a sandbox: bwrap is not installed/);
    const broken = { path: '/usr/bin/bwrap', works: false, why: 'No permissions' } as const;
    const refused = decideSandbox({
      framework: { build_sandbox: 'bwrap' },
      module: 'm',
      bwrap: broken,
    });
    assert.ok(!refused.sandbox);
    assert.match(refused.error ?? '', /build_sandbox=bwrap .* cannot create a sandbox here/);
  });

  it('the hint names the sandbox, what it stopped and both ways out', () => {
    const hint = sandboxHint('m', '/var/lib/dkms/m/1/build', '/etc/dkms', ['read-only', 'network']);
    assert.match(hint, /dkms build sandbox \(bubblewrap\)/);
    assert.match(hint, /read-only file system.*network access/);
    assert.match(hint, /build_sandbox_exempt in \/etc\/dkms\/framework\.conf/);
    assert.match(hint, /build_sandbox=none/);
  });
});

const bwrapHere = await probeBwrap('bwrap');
const skip =
  skipWithoutHeaders ||
  (process.getuid?.() !== 0 && 'not root: the build user needs root') ||
  (!bwrapHere.ok && `bwrap cannot run here: ${bwrapHere.why}`);

/** framework.conf.d/test.conf of a sandbox ('' removes it). */
function frameworkConf(roots: Roots, text: string): void {
  const dir = join(roots.confDir, 'framework.conf.d');
  mkdirSync(dir, { recursive: true });
  if (text) writeFileSync(join(dir, 'test.conf'), text);
  else rmSync(join(dir, 'test.conf'), { force: true });
}

const builtKo = (roots: Roots): string =>
  join(roots.tree, 'escape/1.0', K47, ARCH, 'module/escape.ko');

describe('sandboxed builds with real bwrap', { skip }, () => {
  let roots: Roots;
  const build = (env: NodeJS.ProcessEnv = {}): ReturnType<typeof dkms> =>
    dkms(roots, ['build', 'escape/1.0', '-k', K47, '--force'], env);
  before(async () => {
    roots = makeRoots([K47]);
    roots.addFixture('escape-1.0');
    assert.equal((await dkms(roots, ['add', 'escape/1.0'])).code, 0);
  });
  after(() => roots.cleanup());

  it('builds as root without capabilities when the build user cannot reach the tree', async () => {
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await modinfo(builtKo(roots), 'escape_uid'), '0');
  });

  it('builds as the unprivileged user when the tree allows, and takes the files back', async () => {
    chmodSync(roots.root, 0o755);
    try {
      const r = await dkms(roots, ['build', 'escape/1.0', '-k', K47, '--force', '--verbose']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /in the sandbox \(uid 65534\)/);
      assert.equal(await modinfo(builtKo(roots), 'escape_uid'), '65534');
      assert.equal(statSync(builtKo(roots)).uid, 0);
    } finally {
      chmodSync(roots.root, 0o700);
    }
  });

  it('a Makefile that writes to /etc fails, naming the sandbox and the opt-out', async () => {
    const target = `/etc/dkms-ts-sandbox-escape.${process.pid}`;
    const r = await build({ DKMS_FIXTURE_ESCAPE: 'write', DKMS_FIXTURE_ESCAPE_FILE: target });
    assert.equal(r.code, 10, r.stderr);
    assert.ok(!existsSync(target), `${target} was written`);
    rmSync(target, { force: true });
    assert.match(r.stderr, /ran in the dkms build sandbox \(bubblewrap\)/);
    assert.match(r.stderr, /a write outside the build directory \(read-only file system\)/);
    assert.match(r.stderr, /build_sandbox_exempt="escape"/);
    const log = readFileSync(join(roots.tree, 'escape/1.0/build/make.log'), 'utf8');
    assert.match(log, /Read-only file system/);
    assert.match(log, /^# dkms-ts: The build of escape ran in the dkms build sandbox/m);
  });

  it('a Makefile that opens a socket fails; listed in build_sandbox_exempt it builds', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      const env = { DKMS_FIXTURE_ESCAPE: 'net', DKMS_FIXTURE_ESCAPE_PORT: port };
      const confined = await build(env);
      assert.equal(confined.code, 10, confined.stderr);
      assert.match(confined.stderr, /its log shows a network access/);
      assert.equal(connections, 0);
      frameworkConf(roots, 'build_sandbox_exempt="other escape"\n');
      const exempt = await build(env);
      assert.equal(exempt.code, 0, exempt.stderr);
      assert.equal(connections, 1);
    } finally {
      frameworkConf(roots, '');
      server.close();
    }
  });

  it('build_sandbox=none writes where the Makefile says', async () => {
    const target = join(roots.root, 'outside.txt');
    frameworkConf(roots, 'build_sandbox=none\n');
    try {
      const r = await build({ DKMS_FIXTURE_ESCAPE: 'write', DKMS_FIXTURE_ESCAPE_FILE: target });
      assert.equal(r.code, 0, r.stderr);
      assert.match(readFileSync(target, 'utf8'), /escape fixture/);
    } finally {
      frameworkConf(roots, '');
    }
  });

  it('does not collect a built module that is a symbolic link', async () => {
    const r = await build({ DKMS_FIXTURE_ESCAPE: 'link' });
    assert.equal(r.code, 10, r.stderr);
    assert.match(r.stderr, /escape\.ko is not a plain file of the build directory/);
  });

  it('without a working bwrap: one notice by default, an error when build_sandbox=bwrap', async () => {
    const fake = join(roots.root, 'bwrap');
    writeFileSync(
      fake,
      '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n',
    );
    chmodSync(fake, 0o755);
    const fallback = await build({ DKMS_BWRAP: fake });
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.equal(fallback.stderr.match(/Building without a sandbox/g)?.length, 1, fallback.stderr);
    assert.match(fallback.stderr, /bwrap cannot create a sandbox here \(bwrap: No permissions/);
    assert.match(fallback.stderr, /\(let it create namespaces, or set build_sandbox=none/);
    frameworkConf(roots, 'build_sandbox=bwrap\n');
    try {
      const refused = await build({ DKMS_BWRAP: fake });
      assert.equal(refused.code, 10, refused.stderr);
      assert.match(refused.stderr, /build_sandbox=bwrap is set in framework\.conf/);
      const missing = await build({ DKMS_BWRAP: join(roots.root, 'no-such-bwrap') });
      assert.equal(missing.code, 10, missing.stderr);
      assert.match(missing.stderr, /bwrap is not installed/);
    } finally {
      frameworkConf(roots, '');
    }
  });
});
