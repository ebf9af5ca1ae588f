import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { K50, haveHeaders, headersDir, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, writeDaemonConfig } from './helpers/dkmsdProcess.js';

const skip = !haveHeaders(K50) && 'no headers for 6.1.0-50-amd64';

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(check(), what);
}

/** The inotify watches a process holds (the `inotify wd:` lines of its fdinfo). */
function inotifyWatches(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      count += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm) ?? [])
        .length;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

describe('dkmsd: kernel directories that wait for headers', { skip }, () => {
  let roots: Roots;
  let daemon: DkmsdProcess | undefined;

  before(() => {
    roots = makeRoots([]);
  });
  after(async () => {
    await daemon?.stop();
    roots.cleanup();
  });

  // dpkg creates /lib/modules/<kver> well before the build link; the daemon watches that
  // directory meanwhile, and must still see it go away afterwards.
  it('notices the removal of a kernel directory it once watched for headers', async () => {
    const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
    const boot = join(roots.root, 'boot');
    mkdirSync(boot);
    daemon = new DkmsdProcess(config.file, {
      DKMS_RUNNING_KERNEL: '6.1.0-1-none',
      DKMS_BOOTDIR: boot,
    });
    await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the boot catch-up');
    const base = inotifyWatches(daemon.pid);
    assert.equal(base, 3, 'the install tree, the source tree and /boot, one watch each');
    const dir = join(roots.lib, K50);
    mkdirSync(dir);
    // A kernel directory with entries, the way an image package leaves it: one watch still.
    for (const name of ['modules.dep', 'modules.alias', 'modules.order'])
      writeFileSync(join(dir, name), '');
    const image = join(roots.root, 'boot', `vmlinuz-${K50}`);
    writeFileSync(image, '');
    await daemon.waitFor(
      (r) => r.msg === 'kernels without headers' && String(r['kernels']).includes(K50),
      'the kernel directory seen without headers',
    );
    assert.equal(inotifyWatches(daemon.pid), base + 1, 'one watch for the waiting kernel');
    symlinkSync(headersDir(K50), join(dir, 'build'));
    await daemon.waitFor(
      (r) => r.msg === 'kernel finished' && r['kernel'] === K50,
      'the new kernel being finished',
    );
    assert.equal(inotifyWatches(daemon.pid), base, 'no watch once its headers are there');
    // Its image goes: now the headers are all that is left, and their removal would matter.
    rmSync(image);
    await daemon.waitFor(
      (r) => r.msg === 'file system event' && r['path'] === image,
      'the image removal',
    );
    await waitUntil(() => inotifyWatches(daemon?.pid ?? 0) === base + 1, 'a watch again');
    rmSync(dir, { recursive: true });
    await daemon.waitFor(
      (r) => r.msg === 'kernel directory removed' && r['kernel'] === K50,
      'the kernel directory removal',
      30_000,
    );
  });
});
