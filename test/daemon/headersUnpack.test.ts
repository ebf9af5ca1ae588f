import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { K47, dkms, makeRoots, modinfo, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, writeDaemonConfig } from './helpers/dkmsdProcess.js';

const PACKAGE = `linux-headers-${K47}`;

/** The files of the installed headers package, in the order dpkg unpacked them (its .list). */
function packageOrder(): string[] | undefined {
  try {
    return execFileSync('dpkg', ['-L', PACKAGE], { encoding: 'utf8' })
      .split('\n')
      .filter((path) => path.startsWith('/usr/src/') || path.startsWith('/lib/modules/'));
  } catch {
    return undefined;
  }
}
const order = packageOrder();

/**
 * Puts one path of the package into the sandbox as dpkg would: directories, files, and links
 * (the `build` link points at the sandbox's copy; other links at what they resolve to here).
 */
function unpack(roots: Roots, path: string): void {
  const to = path.startsWith('/usr/src/')
    ? join(roots.src, path.slice('/usr/src/'.length))
    : join(roots.lib, path.slice('/lib/modules/'.length));
  if (path === '/usr/src' || path === '/lib/modules') return;
  const st = lstatSync(path);
  if (st.isDirectory()) mkdirSync(to, { recursive: true });
  else if (st.isSymbolicLink()) {
    const target = path.endsWith(`/${K47}/build`)
      ? join(roots.src, `linux-headers-${K47}`)
      : readlinkSync(path).startsWith('/')
        ? readlinkSync(path)
        : realpathSync(path);
    symlinkSync(target, to);
  } else copyFileSync(path, to);
}

describe(
  'dkmsd and a headers package being unpacked',
  { skip: !order && `${PACKAGE} is not installed` },
  () => {
    let roots: Roots;
    let daemon: DkmsdProcess;
    before(async () => {
      roots = makeRoots([]);
      roots.addFixture('hello-1.0');
      assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
      const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
      daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
      await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
    });
    after(async () => {
      await daemon.stop();
      roots.cleanup();
    });

    it('does not build while the tree is half unpacked, and builds once it is whole', async () => {
      const paths = order ?? [];
      // dpkg unpacks the `build` link before the package's scripts/ and tools/ links
      const build = paths.indexOf(`/lib/modules/${K47}/build`);
      assert.ok(build > 0 && build < paths.length - 1, 'build is not the last entry');
      for (const path of paths.slice(0, build + 1)) unpack(roots, path);
      const buildDir = join(roots.lib, K47, 'build');
      const waiting = await daemon.waitFor(
        (r) =>
          r.msg === 'kernel headers incomplete' && r['kernel'] === K47 && r['headers'] === buildDir,
        'dkmsd seeing the half-unpacked headers',
      );
      assert.deepEqual(waiting['missing'], ['scripts/']);
      assert.deepEqual(daemon.named('planned builds'), [], 'nothing was planned');

      for (const path of paths.slice(build + 1)) unpack(roots, path);
      const finished = await daemon.waitFor(
        (r) => r.msg === 'kernel finished' && r['kernel'] === K47,
        'the kernel finished',
      );
      assert.equal(finished['result'], 'ok', daemon.tail(30));
      assertTree(roots).installed('hello', '1.0', K47);
      const ko = assertTree(roots).moduleFile(K47, 'updates/dkms/hello.ko');
      assert.match(await modinfo(ko, 'vermagic'), /^6\.1\.0-47-amd64 /);
    });
  },
);
