import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { ARCH, K47, dkms, haveHeaders, makeRoots, run, type Roots } from '../helpers/roots.js';

const skip = haveHeaders(K47)
  ? false
  : `kernel headers ${K47} are not installed (run scripts/setup.sh as root)`;

/** Every path under `dir` (relative, links not followed), for "nothing was written" checks. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = prefix + entry.name;
      return entry.isDirectory() ? [path, ...listTree(join(dir, entry.name), `${path}/`)] : [path];
    })
    .sort();
}

const builtKo = (roots: Roots): string =>
  join(roots.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko');

const ok = async (promise: ReturnType<typeof run>): Promise<string> => {
  const r = await promise;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

/** A sandbox whose temporary directories are inside it, so escapes would be visible. */
function sandbox(): Roots {
  const roots = makeRoots([K47]);
  mkdirSync(join(roots.root, 'tmp/a/b'), { recursive: true });
  writeFileSync(join(roots.confDir, 'framework.conf'), `tmp_location=${roots.root}/tmp/a/b\n`);
  return roots;
}

describe('mktarball and ldtarball with a real build', { skip }, () => {
  let built: Roots;
  let tarball: string;
  before(async () => {
    built = sandbox();
    built.addFixture('hello-1.0');
    const r = await dkms(built, ['build', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => built.cleanup());

  it('writes upstream’s format into <tree>/<m>/<v>/tarball/', async () => {
    const r = await dkms(built, ['mktarball', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    tarball = join(built.tree, 'hello/1.0/tarball', `hello-1.0-kernel${K47}-${ARCH}.dkms.tar.gz`);
    assert.match(r.stdout, new RegExp(`Tarball location: ${tarball}`));
    const members = (await run('tar', ['-tzf', tarball])).stdout.split('\n');
    for (const member of [
      `./dkms_main_tree/${K47}/${ARCH}/module/hello.ko`,
      `./dkms_main_tree/${K47}/${ARCH}/log/make.log`,
      './dkms_source_tree/dkms.conf',
      './dkms_source_tree/hello.c',
      './dkms_source_tree/Makefile',
    ])
      assert.ok(members.includes(member), `${member} missing from:\n${members.join('\n')}`);
    assert.deepEqual(listTree(join(built.root, 'tmp')), ['a', 'a/b'], 'staging is cleaned up');
  });

  it('loads it into a fresh sandbox as built, with the same module bytes', async () => {
    const fresh = sandbox();
    try {
      const r = await dkms(fresh, ['ldtarball', tarball]);
      assert.equal(r.code, 0, r.stderr);
      assertTree(fresh).added('hello', '1.0');
      assert.equal((await dkms(fresh, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: built\n`);
      assert.deepEqual(readFileSync(builtKo(fresh)), readFileSync(builtKo(built)));
      assert.equal(
        readFileSync(join(fresh.src, 'hello-1.0/hello.c'), 'utf8'),
        readFileSync(join(built.src, 'hello-1.0/hello.c'), 'utf8'),
      );

      const again = await dkms(fresh, ['ldtarball', tarball]);
      assert.equal(again.code, 8);
      assert.match(again.stderr, /hello\/1\.0 is already added!/);

      writeFileSync(builtKo(fresh), 'clobbered');
      const forced = await dkms(fresh, ['ldtarball', tarball, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(readFileSync(builtKo(fresh)), readFileSync(builtKo(built)));

      const install = await dkms(fresh, ['install', 'hello/1.0', '-k', K47]);
      assert.equal(install.code, 0, install.stderr);
      assertTree(fresh).installed('hello', '1.0', K47);
    } finally {
      fresh.cleanup();
    }
  });

  it('loads it through dkms add <tarball> too', async () => {
    const fresh = sandbox();
    try {
      const r = await dkms(fresh, ['add', tarball]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await dkms(fresh, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: built\n`);
    } finally {
      fresh.cleanup();
    }
  });

  it('makes source-only and binaries-only tarballs', async () => {
    const r = await dkms(built, ['mktarball', 'hello/1.0', '--source-only']);
    assert.equal(r.code, 0, r.stderr);
    const members = (
      await run('tar', [
        '-tzf',
        join(built.tree, 'hello/1.0/tarball/hello-1.0-source-only.dkms.tar.gz'),
      ])
    ).stdout;
    assert.match(members, /^\.\/dkms_source_tree\/hello\.c$/m);
    assert.doesNotMatch(members, /hello\.ko/);

    const b = await dkms(built, ['mktarball', 'hello/1.0', '-k', K47, '--binaries-only']);
    assert.equal(b.code, 0, b.stderr);
    const binaries = join(
      built.tree,
      'hello/1.0/tarball',
      `hello-1.0-kernel${K47}-${ARCH}.dkms.tar.gz`,
    );
    const listed = (await run('tar', ['-tzf', binaries])).stdout;
    assert.match(listed, /^\.\/dkms_binaries_only\/dkms\.conf$/m);
    assert.match(listed, /^\.\/dkms_binaries_only\/PACKAGE_NAME$/m);
    assert.doesNotMatch(listed, /dkms_source_tree/);

    // Without the source on the target, a binaries-only tarball cannot be used.
    const fresh = sandbox();
    try {
      const refused = await dkms(fresh, ['ldtarball', binaries]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /holds binaries only/);
      assert.deepEqual(listTree(fresh.tree), []);
      fresh.addFixture('hello-1.0');
      const loaded = await dkms(fresh, ['ldtarball', binaries]);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.equal((await dkms(fresh, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: built\n`);
    } finally {
      fresh.cleanup();
    }
  });

  it('puts the tarball where --archive says', async () => {
    const archive = join(built.root, 'out', 'named.tar.gz');
    const r = await dkms(built, ['mktarball', 'hello/1.0', '-k', K47, '--archive', archive]);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await run('tar', ['-tzf', archive])).stdout, /hello\.ko$/m);
  });

  it('says which kernel is not built and how to build it', async () => {
    const r = await dkms(built, ['mktarball', 'hello/1.0', '-k', '6.1.0-50-amd64']);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /No modules built for 6\.1\.0-50-amd64 \(x86_64\)/);
    assert.match(r.stderr, /dkms build hello\/1\.0 -k 6\.1\.0-50-amd64\/x86_64/);
  });
});

describe('ldtarball refuses archives that escape', () => {
  let roots: Roots;
  before(() => {
    roots = sandbox();
  });
  after(() => roots.cleanup());

  /** A tarball with `../../evil` next to a valid dkms_source_tree, made with tar -P. */
  async function traversalTarball(): Promise<string> {
    const work = join(roots.root, 'craft/x/y');
    mkdirSync(join(work, 'dkms_source_tree'), { recursive: true });
    writeFileSync(
      join(work, 'dkms_source_tree/dkms.conf'),
      'PACKAGE_NAME=evil\nPACKAGE_VERSION=1\n',
    );
    writeFileSync(join(roots.root, 'craft/evil'), 'owned\n');
    const archive = join(roots.root, 'traversal.tar.gz');
    const r = await run('tar', ['-C', work, '-czPf', archive, 'dkms_source_tree', '../../evil']);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await run('tar', ['-tzPf', archive])).stdout, /^\.\.\/\.\.\/evil$/m);
    return archive;
  }

  /** A tarball whose source tree holds a symlink to / and a file written through it. */
  async function symlinkTarball(): Promise<string> {
    const work = join(roots.root, 'craft2');
    mkdirSync(join(work, 'dkms_source_tree'), { recursive: true });
    writeFileSync(
      join(work, 'dkms_source_tree/dkms.conf'),
      'PACKAGE_NAME=evil\nPACKAGE_VERSION=1\n',
    );
    symlinkSync('../../../../..', join(work, 'dkms_source_tree/up'));
    const archive = join(roots.root, 'symlink.tar.gz');
    const r = await run('tar', ['-C', work, '-czf', archive, 'dkms_source_tree']);
    assert.equal(r.code, 0, r.stderr);
    return archive;
  }

  /** A well-formed tarball whose dkms.conf names a module that would escape the trees. */
  async function namedOutsideTarball(): Promise<string> {
    const work = join(roots.root, 'craft3');
    mkdirSync(join(work, 'dkms_source_tree'), { recursive: true });
    writeFileSync(
      join(work, 'dkms_source_tree/dkms.conf'),
      'PACKAGE_NAME="../../../escape"\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/updates\n',
    );
    const archive = join(roots.root, 'named.tar.gz');
    await ok(run('tar', ['-C', work, '-czf', archive, 'dkms_source_tree']));
    return archive;
  }

  it('refuses a dkms.conf naming a module outside the trees and writes nothing', async () => {
    const archive = await namedOutsideTarball();
    const before = listTree(roots.root);
    const r = await dkms(roots, ['ldtarball', archive]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /(Malformed dkms\.conf, refusing to load|Refusing to load)/);
    assert.match(r.stderr, /\.\.\/\.\.\/\.\.\/escape/);
    assert.deepEqual(listTree(roots.root), before);
  });

  for (const [name, make, member] of [
    ['a ../../evil member', traversalTarball, /\.\.\/\.\.\/evil: it contains '\.\.'/],
    ['a symlink leading outside', symlinkTarball, /dkms_source_tree\/up: .*symlink/],
  ] as const) {
    it(`refuses ${name} and writes nothing`, async () => {
      const archive = await make();
      const before = listTree(roots.root);
      for (const action of [
        ['ldtarball', archive],
        ['add', archive],
      ]) {
        const r = await dkms(roots, action);
        assert.equal(r.code, 7, r.stderr);
        assert.match(r.stderr, /Refusing to load .*outside the extraction directory/);
        assert.match(r.stderr, member);
      }
      assert.deepEqual(listTree(roots.root), before);
      assert.ok(!existsSync(join(roots.root, 'tmp/a/evil')));
      assert.deepEqual(listTree(join(roots.root, 'tmp')), ['a', 'a/b']);
    });
  }
});
