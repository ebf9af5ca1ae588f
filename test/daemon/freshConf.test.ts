import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { K47, dkms, haveHeaders, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, dkmsd, writeDaemonConfig } from './helpers/dkmsdProcess.js';

// Issue 8 item 6: nothing dkmsd learnt from a file outlives the file's content.
describe(
  'dkmsd: a fixed dkms.conf is seen without a restart',
  { skip: !haveHeaders(K47) && 'no headers for 6.1.0-47-amd64' },
  () => {
    let roots: Roots;
    let daemon: DkmsdProcess;
    let socket: string;
    let confFile: string;
    let goodConf: string;

    before(async () => {
      roots = makeRoots([K47]);
      roots.addFixture('hello-1.0');
      assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
      confFile = join(roots.src, 'hello-1.0', 'dkms.conf');
      goodConf = readFileSync(confFile, 'utf8');
      // Broken after `dkms add`, the way a user's edit breaks it.
      writeFileSync(confFile, `${goodConf}DEST_MODULE_LOCATION[0]="/nowhere"\n`);
      const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
      socket = config.socket;
      daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
      await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the end of the boot catch-up');
    });

    after(async () => {
      await daemon.stop();
      roots.cleanup();
    });

    const moduleAdded = (): ReturnType<typeof dkmsd> =>
      dkmsd(['notify', 'module-added', 'hello', '1.0', '--wait', '--socket', socket]);

    it('reports the broken conf, then builds once it is fixed', async () => {
      const broken = await moduleAdded();
      assert.equal(broken.code, 1, `${broken.stdout}\n${broken.stderr}\n${daemon.tail()}`);
      assert.match(`${broken.stdout}${broken.stderr}`, /hello\/1\.0/);
      assertTree(roots).notInstalled('hello', K47);

      writeFileSync(confFile, goodConf);
      const fixed = await moduleAdded();
      assert.equal(fixed.code, 0, `${fixed.stdout}\n${fixed.stderr}\n${daemon.tail()}`);
      assertTree(roots).installed('hello', '1.0', K47);
    });
  },
);
