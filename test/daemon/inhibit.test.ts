import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readReadiness } from '../../src/core/readiness.js';
import { K47, K50, dkms, haveHeaders, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, dkmsd, startDkmsd } from './helpers/dkmsdProcess.js';

/**
 * A systemd-inhibit stand-in (the real one needs logind; test/system has the real thing): logs
 * its arguments when it takes the lock and "released" once the command it runs (`cat` on
 * dkmsd's pipe) has ended, then exits as systemd-inhibit does.
 */
function fakeInhibit(roots: Roots): { script: string; log: string } {
  const script = join(roots.root, 'systemd-inhibit');
  const log = join(roots.root, 'inhibit.log');
  writeFileSync(
    script,
    `#!/bin/sh\nprintf 'held %s\\n' "$*" >> '${log}'\nshift 4\n"$@"\necho released >> '${log}'\n`,
    { mode: 0o755 },
  );
  return { script, log };
}

const read = (path: string): string[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

describe(
  'dkmsd holds off shutdown while it builds for a kernel that is not running',
  { skip: (!haveHeaders(K50) || !haveHeaders(K47)) && 'no headers for 6.1.0-47/50-amd64' },
  () => {
    let roots: Roots;
    let daemon: DkmsdProcess;
    let inhibit: { script: string; log: string };
    let socket: string;

    before(async () => {
      roots = makeRoots([K47]);
      roots.addFixture('hello-1.0');
      assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
      inhibit = fakeInhibit(roots);
      ({ daemon, socket } = await startDkmsd(
        roots,
        {
          inhibit_command: inhibit.script,
          initramfs_command: '',
          udev_command: '',
        },
        { DKMS_RUNNING_KERNEL: K47 },
      ));
    });
    after(async () => {
      await daemon.stop();
      roots.cleanup();
    });

    it('the running kernel is built without a lock', () => {
      assert.deepEqual(read(inhibit.log), []);
      assert.equal(readReadiness(roots.tree, K47)?.state, 'ready');
    });

    it('a new kernel: locked while building, status says why, freed when finished', async () => {
      roots.addKernel(K50);
      const done = dkmsd(['notify', 'kernel-added', K50, '--wait', '--socket', socket]);
      await daemon.waitFor(
        (r) => r.msg === 'holding off shutdown and sleep' && r['kernel'] === K50,
        'the lock',
      );
      const status = await dkmsd(['status', '--socket', socket]);
      assert.match(
        status.stdout,
        new RegExp(
          `shutdown and sleep held off .*\\n  ${K50}: Building DKMS modules for kernel ${K50}`,
        ),
      );
      const json = JSON.parse((await dkmsd(['status', '--json', '--socket', socket])).stdout) as {
        inhibitors: { kernel: string }[];
        kernels: { kernel: string; readiness?: { state: string } }[];
      };
      assert.deepEqual(
        json.inhibitors.map((i) => i.kernel),
        [K50],
      );
      assert.equal(readReadiness(roots.tree, K50)?.state, 'building');
      assert.equal((await done).code, 0);
      await daemon.waitFor(
        (r) => r.msg === 'shutdown and sleep allowed again' && r['kernel'] === K50,
        'the release',
      );
      const [held, ...rest] = read(inhibit.log);
      assert.equal(
        held,
        `held --what=shutdown:sleep --mode=delay --who=dkmsd --why=Building DKMS modules for kernel ${K50}; rebooting into it now would start it without them cat`,
      );
      // released once the pipe closed; the record says ready, and status no longer lists it
      for (let i = 0; i < 50 && !read(inhibit.log).includes('released'); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual([...rest, ...read(inhibit.log).slice(1 + rest.length)], ['released']);
      assert.equal(readReadiness(roots.tree, K50)?.state, 'ready');
      const after = JSON.parse((await dkmsd(['status', '--json', '--socket', socket])).stdout) as {
        inhibitors: unknown[];
        kernels: { kernel: string; readiness?: { state: string } }[];
      };
      assert.deepEqual(after.inhibitors, []);
      assert.equal(after.kernels.find((k) => k.kernel === K50)?.readiness?.state, 'ready');
    });

    it('a kernel removed takes its readiness record along', async () => {
      rmSync(join(roots.lib, K50), { recursive: true, force: true });
      await daemon.waitFor((r) => r.msg === 'kernel removed' && r['kernel'] === K50, 'removal');
      for (let i = 0; i < 50 && readReadiness(roots.tree, K50); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(readReadiness(roots.tree, K50), undefined);
    });
  },
);
