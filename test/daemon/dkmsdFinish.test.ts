import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { listOwed } from '../../src/core/finishLedger.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  dkmsBin,
  haveHeaders,
  headersDir,
  makeRoots,
  run,
  type Roots,
} from '../helpers/roots.js';
import { faultyDepmod, untilExists } from '../reliability/helpers/faultTools.js';
import { DkmsdProcess, dkmsd, writeDaemonConfig, type LogRecord } from './helpers/dkmsdProcess.js';
import { fakeInitramfs } from './helpers/fakeInitramfs.js';

const lines = (path: string): string[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
const modulesDep = (roots: Roots, kernel: string): string => {
  const path = join(roots.lib, kernel, 'modules.dep');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};
const finished = (kernel: string) => (record: LogRecord) =>
  record.msg === 'kernel finished' && record['kernel'] === kernel;

/** A sandbox with hello/1.0 added, the fake initramfs and a dkmsd.conf using it. */
async function sandbox(
  kernels: string[],
  extra: Record<string, string> = {},
  released = true,
): Promise<{
  roots: Roots;
  initramfs: ReturnType<typeof fakeInitramfs>;
  config: { file: string; socket: string };
}> {
  const roots = makeRoots(kernels);
  roots.addFixture('hello-1.0');
  assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
  const initramfs = fakeInitramfs(roots);
  if (released) writeFileSync(initramfs.release, '');
  const config = writeDaemonConfig(roots, {
    initramfs_command: initramfs.script,
    udev_command: '',
    ...extra,
  });
  return { roots, initramfs, config };
}

const skip = (!haveHeaders(K47) || !haveHeaders(K50)) && 'no kernel headers';

describe('dkmsd: finish steps are owed until done', { skip }, () => {
  let roots: Roots;
  let daemon: DkmsdProcess | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    roots.cleanup();
  });
  after(() => undefined);

  it('a kernel that `dkms install` changed while dkmsd handled it is still finished', async () => {
    const { initramfs, config, ...made } = await sandbox([]);
    roots = made.roots;
    const udev = join(roots.root, 'udev.calls');
    writeDaemonConfig(roots, {
      initramfs_command: initramfs.script,
      udev_command: `echo >>'${udev}'`,
    });
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K50 });
    await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
    // The new kernel's directory is there, its headers not yet (dkmsd waits for them); the
    // CLI builds against the headers directly and holds the module's lock while it does.
    mkdirSync(join(roots.lib, K50));
    const cli = run(
      dkmsBin,
      ['install', 'hello/1.0', '-k', K50, '--kernelsourcedir', headersDir(K50), ...roots.treeArgs],
      { DKMS_RUNNING_KERNEL: K50 },
    );
    // (not build/: dkms add makes that one; the staging directory is made under the lock)
    await untilExists(join(roots.tree, 'hello', '1.0', K50));
    symlinkSync(headersDir(K50), join(roots.lib, K50, 'build'));
    const outcome = await daemon.waitFor(finished(K50), 'K50 finished');
    const installed = await cli;
    assert.equal(installed.code, 0, installed.stderr);
    const why = `${JSON.stringify(outcome)}\n${installed.stdout}\n${daemon.tail(40)}`;
    // dkmsd installed nothing itself: the CLI did, before or while dkmsd's job waited.
    assert.deepEqual(outcome['installed'], [], why);
    assert.equal(outcome['initramfs'], 'ran', why);
    assert.equal(outcome['udev'], 'ran', why);
    assert.deepEqual(
      lines(initramfs.calls),
      [`start ${K50}`, `done ${K50}: ./updates/dkms/hello.ko `],
      why,
    );
    assert.equal(lines(udev).length, 1);
    assert.match(modulesDep(roots, K50), /^updates\/dkms\/hello\.ko:/m);
    assert.deepEqual(listOwed(roots.tree), []);
  });

  it('a failing depmod stays owed; the next start pays it, then the initramfs', async () => {
    const { initramfs, config, ...made } = await sandbox([K47]);
    roots = made.roots;
    const fault = faultyDepmod(roots.root, 'fail');
    daemon = new DkmsdProcess(config.file, {
      DKMS_RUNNING_KERNEL: K47,
      PATH: `${fault.dir}:${process.env['PATH'] ?? ''}`,
    });
    const first = await daemon.waitFor(finished(K47), 'the first run');
    assert.equal(first['depmod'], 'failed');
    assert.equal(first['initramfs'], 'owed');
    assertTree(roots).installed('hello', '1.0', K47);
    const status = await dkmsd(['status', '--json', '--socket', config.socket]);
    assert.deepEqual((JSON.parse(status.stdout) as { owed: unknown }).owed, [
      // udev_command is empty: that step was dropped, not left owed
      { kernel: K47, arch: ARCH, steps: ['depmod', 'initramfs'] },
    ]);
    assert.equal(await daemon.stop(), 0);
    assert.deepEqual(lines(initramfs.calls), []);

    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    const replay = await daemon.waitFor(finished(K47), 'the replay at start-up');
    assert.equal(replay['depmod'], 'ran');
    assert.equal(replay['initramfs'], 'ran');
    assert.match(modulesDep(roots, K47), /^updates\/dkms\/hello\.ko:/m);
    assert.deepEqual(lines(initramfs.calls), [
      `start ${K47}`,
      `done ${K47}: ./updates/dkms/hello.ko `,
    ]);
    assert.deepEqual(listOwed(roots.tree), []);
  });

  it('SIGTERM during the initramfs waits for it and exits 0', async () => {
    const { initramfs, config, ...made } = await sandbox([K47], {}, false);
    roots = made.roots;
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    await untilExists(initramfs.started);
    const exit = daemon.stop('SIGTERM');
    await daemon.waitFor((r) => r.msg === 'waiting for finish steps', 'the stop waiting');
    writeFileSync(initramfs.release, '');
    assert.equal(await exit, 0, daemon.tail());
    daemon = undefined;
    assert.deepEqual(lines(initramfs.calls), [
      `start ${K47}`,
      `done ${K47}: ./updates/dkms/hello.ko `,
    ]);
    assert.deepEqual(listOwed(roots.tree), []);
  });

  it('past the stop timeout the initramfs is cut short, stays owed and runs at the next start', async () => {
    const { initramfs, config, ...made } = await sandbox([K47], { stop_timeout: '1' }, false);
    roots = made.roots;
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    await untilExists(initramfs.started);
    assert.equal(await daemon.stop('SIGTERM'), 0, daemon.tail());
    assert.deepEqual(listOwed(roots.tree), [{ kernel: K47, arch: ARCH, steps: ['initramfs'] }]);

    writeFileSync(initramfs.release, '');
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    const replay = await daemon.waitFor(finished(K47), 'the replay');
    assert.equal(replay['initramfs'], 'ran');
    assert.deepEqual(replay['installed'], [], 'nothing built again');
    assert.deepEqual(lines(initramfs.calls).at(-1), `done ${K47}: ./updates/dkms/hello.ko `);
    assert.deepEqual(listOwed(roots.tree), []);
  });

  it('rescan pays what a dkms command left owed, for a kernel without headers too', async () => {
    const { initramfs, config, ...made } = await sandbox([K47], { autoinstall_all_kernels: 'no' });
    roots = made.roots;
    assert.equal((await dkms(roots, ['install', 'hello/1.0', '-k', K47])).code, 0);
    // Not the running kernel, autoinstall_all_kernels=no: only the ledger brings K47 in.
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: '6.0.0-elsewhere' });
    await daemon.waitFor(finished(K47), 'K47 finished at start-up');
    assert.deepEqual(lines(initramfs.calls), [
      `start ${K47}`,
      `done ${K47}: ./updates/dkms/hello.ko `,
    ]);
    assert.deepEqual(listOwed(roots.tree), []);
    // A later CLI change of K47: rescan (the dkms-rebuild trigger) pays it.
    assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);
    const rescan = await dkmsd(['notify', 'rescan', '--wait', '--socket', config.socket]);
    assert.equal(rescan.code, 0, rescan.stderr);
    assert.match(rescan.stdout, new RegExp(`${K47} \\(${ARCH}\\): ok; ran initramfs`));
    assert.equal(lines(initramfs.calls).at(-1), `done ${K47}: `);
    assert.deepEqual(listOwed(roots.tree), []);
  });
});
