import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { K50, haveHeaders, headersDir, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, writeDaemonConfig } from './helpers/dkmsdProcess.js';

const skip = !haveHeaders(K50) && 'no headers for 6.1.0-50-amd64';

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
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: '6.1.0-1-none' });
    await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the boot catch-up');
    const dir = join(roots.lib, K50);
    mkdirSync(dir);
    await new Promise((resolve) => setTimeout(resolve, 700));
    symlinkSync(headersDir(K50), join(dir, 'build'));
    await daemon.waitFor(
      (r) => r.msg === 'kernel finished' && r['kernel'] === K50,
      'the new kernel being finished',
    );
    rmSync(dir, { recursive: true });
    await daemon.waitFor(
      (r) => r.msg === 'kernel directory removed' && r['kernel'] === K50,
      'the kernel directory removal',
      30_000,
    );
  });
});
