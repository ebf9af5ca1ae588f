import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  K47,
  dkms,
  dkmsBin,
  fixturesDir,
  makeRoots,
  run,
  skipWithoutHeaders,
  type Roots,
} from '../helpers/roots.js';

/** A module source directory outside the trees, with `extra` files and the given names. */
function sourceDir(
  roots: Roots,
  name: string,
  conf: string,
  extra: Record<string, string> = {},
): string {
  const dir = join(roots.root, 'incoming', name);
  cpSync(join(fixturesDir, 'hello-1.0'), dir, { recursive: true });
  writeFileSync(join(dir, 'dkms.conf'), conf);
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(dir, file), content);
  return dir;
}

const helloConf = (name = 'hello', version = '1.0', more = ''): string =>
  `PACKAGE_NAME="${name}"\nPACKAGE_VERSION="${version}"\nBUILT_MODULE_NAME[0]=hello\nDEST_MODULE_LOCATION[0]=/updates/dkms\n${more}`;

/** `dkms ARGS` in the sandbox with some of its tree options replaced. */
const dkmsWith = (
  roots: Roots,
  args: string[],
  trees: { sourcetree?: string; installtree?: string },
): ReturnType<typeof run> => {
  const treeArgs = [...roots.treeArgs];
  for (const [option, value] of Object.entries(trees))
    treeArgs[treeArgs.indexOf(`--${option}`) + 1] = value;
  return run(dkmsBin, [...args, ...treeArgs], { DKMS_OS_RELEASE: '/etc/os-release' });
};

/** A tiny tmpfs at `dir` (root only); undefined when this machine cannot mount one. */
async function tinyTmpfs(dir: string, size = '64k'): Promise<string | undefined> {
  mkdirSync(dir, { recursive: true });
  const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return r.code === 0 ? dir : undefined;
}

describe('errors a person can act on (real conditions)', () => {
  let roots: Roots;
  const mounts: string[] = [];
  beforeEach(() => {
    roots = makeRoots([]);
  });
  afterEach(async () => {
    for (const mount of mounts.splice(0)) await run('umount', [mount]);
    roots.cleanup();
  });

  it('ENOSPC: a full source tree is NO_SPACE naming the path and the fix, not a raw copyfile error', async (t) => {
    const src = await tinyTmpfs(join(roots.root, 'small-src'));
    if (!src) return t.skip('cannot mount a tmpfs here');
    mounts.push(src);
    const dir = sourceDir(roots, 'big', helloConf(), { 'blob.bin': 'x'.repeat(256 * 1024) });
    const r = await dkmsWith(roots, ['add', dir], { sourcetree: src });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`Error! No space left on the device holding ${src}/hello-1\\.0`),
    );
    assert.match(r.stderr, /Free some space there \(df -h /);
    assert.doesNotMatch(r.stderr, /ENOSPC/);
  });

  it('ENAMETOOLONG: names that make a too long path component say so', async () => {
    const dir = sourceDir(roots, 'long', helloConf('m'.repeat(150), 'v'.repeat(150)));
    const r = await dkms(roots, ['add', dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Error! File name too long: .*m{150}-v{150}/);
    assert.match(r.stderr, /at most 255 bytes/);
  });

  it('ENOTDIR: a file where a tree directory should be is named', async () => {
    writeFileSync(join(roots.root, 'plain-file'), '');
    const dir = sourceDir(roots, 'notdir', helloConf());
    const r = await dkmsWith(roots, ['add', dir], {
      sourcetree: join(roots.root, 'plain-file', 'src'),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /Error! A part of .*plain-file\/src.* is a file where a directory is needed/,
    );
  });

  it('EACCES: a user who may not write the tree is told to run as root', async () => {
    // The sandbox is root's; let an unprivileged user read it, but not write to it.
    chmodSync(roots.root, 0o755);
    const dir = sourceDir(roots, 'perm', helloConf('perm'));
    chmodSync(join(roots.root, 'incoming'), 0o755);
    const r = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      dkmsBin,
      'add',
      dir,
      ...roots.treeArgs,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`Error! Permission denied: cannot mkdir ${roots.src}/perm-1\\.0`),
    );
    assert.match(r.stderr, /Run dkms as root/);
    assert.deepEqual(readdirSync(roots.src), []);
  });
});

describe(
  'failed builds show the end of their log; a missing patch says where it goes',
  {
    skip: skipWithoutHeaders,
  },
  () => {
    let roots: Roots;
    before(() => {
      roots = makeRoots([K47]);
      roots.addFixture('broken-1.0');
    });
    after(() => roots.cleanup());

    it('prints the last 20 lines of make.log under the error, for a person', async () => {
      // a terminal shows them (DKMS_LOG_TAIL=1 stands for one); a pipe gets dkms 3.4.3's lines
      const piped = await dkms(roots, ['build', 'broken/1.0', '-k', K47, '--force']);
      assert.equal(piped.code, 10, piped.stderr);
      assert.doesNotMatch(piped.stderr, /Last lines of/);
      const r = await dkms(roots, ['build', 'broken/1.0', '-k', K47, '--force'], {
        DKMS_LOG_TAIL: '1',
      });
      assert.equal(r.code, 10, r.stderr);
      const after = r.stderr.split(/^Last lines of \S+make\.log:$/m)[1] ?? '';
      assert.match(after, /error: expected .;. before/);
      assert.ok(after.trim().split('\n').length <= 20);
    });

    it('PATCH_MISSING names the source directory the patch must go into', async () => {
      const dir = join(roots.src, 'hello-1.0');
      cpSync(join(fixturesDir, 'hello-1.0'), dir, { recursive: true });
      writeFileSync(
        join(dir, 'dkms.conf'),
        helloConf('hello', '1.0', 'PATCH[0]="fix-build.patch"\n'),
      );
      // advice beyond dkms 3.4.3's words is for a person (DKMS_LOG_TAIL=1 stands for one)
      const r = await dkms(roots, ['build', 'hello/1.0', '-k', K47], { DKMS_LOG_TAIL: '1' });
      assert.equal(r.code, 5, r.stderr);
      assert.match(
        r.stderr,
        /Patch fix-build\.patch as specified in dkms\.conf cannot be\s+found in /,
      );
      assert.match(r.stderr, new RegExp(`Put fix-build\\.patch into ${dir}/patches/`));
    });

    it("ENOSPC while installing keeps install's exit status 6 and says what to free", async (t) => {
      const lib = await tinyTmpfs(join(roots.root, 'small-lib'), '64k');
      if (!lib) return t.skip('cannot mount a tmpfs here');
      try {
        roots.addFixture('hello-1.0');
      } catch {
        // added by the previous case
      }
      const installTree = join(lib, 'modules');
      mkdirSync(join(installTree, K47), { recursive: true });
      await run('ln', ['-s', `/usr/src/linux-headers-${K47}`, join(installTree, K47, 'build')]);
      // Fill the file system, leaving no room for the module.
      await run('sh', ['-c', `cat /dev/zero > ${join(lib, 'filler')} 2>/dev/null; true`]);
      const r = await dkmsWith(roots, ['install', 'hello/1.0', '-k', K47], {
        installtree: installTree,
      });
      await run('umount', [lib]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /Error! No space left on the device holding .*hello\.ko/);
    });
  },
);
