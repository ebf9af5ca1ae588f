import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { ARCH, K47, dkms, dkmsdBin, haveHeaders, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, dkmsd, recorder, writeDaemonConfig } from './helpers/dkmsdProcess.js';
import { NotifyListener } from './helpers/notifyListener.js';

const skip = !haveHeaders(K47) && 'no headers for 6.1.0-47-amd64';

/** A module whose build sits in `sleep` (a value nothing else on the machine uses). */
function addSlowModule(roots: Roots, seconds: string): void {
  const dir = join(roots.src, 'slow-1.0');
  roots.addFixture('hello-1.0');
  execFileSync('cp', ['-a', join(roots.src, 'hello-1.0'), dir]);
  execFileSync('rm', ['-rf', join(roots.src, 'hello-1.0')]);
  writeFileSync(
    join(dir, 'dkms.conf'),
    `PACKAGE_NAME="slow"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="hello"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nAUTOINSTALL="yes"\nMAKE[0]="sleep ${seconds}; make -C \${kernel_source_dir} M=\${dkms_tree}/slow/1.0/build"\n`,
  );
}

const sleeping = (marker: string): boolean => {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
};

describe('dkmsd: stopping, clients, permissions', { skip }, () => {
  let roots: Roots;

  before(() => {
    roots = makeRoots([K47]);
  });
  after(() => roots.cleanup());

  it('SIGTERM during a build kills the build, leaves nothing half-built and exits 0', async () => {
    const marker = '297.31';
    addSlowModule(roots, marker);
    assert.equal((await dkms(roots, ['add', 'slow/1.0'])).code, 0);
    const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
    const daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    await daemon.waitFor(
      (r) => r.msg === 'build started' && r['module'] === 'slow',
      'the slow build starting',
    );
    for (let i = 0; i < 50 && !sleeping(marker); i++) await sleep(100);
    assert.ok(sleeping(marker), 'the build is running');
    assert.equal(await daemon.stop('SIGTERM'), 0, daemon.tail());
    assert.equal(sleeping(marker), false, 'the build process group was killed');
    assertTree(roots).notBuilt('slow', '1.0', K47);
    const versionDir = join(roots.tree, 'slow', '1.0');
    const left = existsSync(join(versionDir, K47)) ? readdirSync(join(versionDir, K47)) : [];
    assert.deepEqual(
      left.filter((name) => name.startsWith('.tmp')),
      [],
      `no staging directory left\n${daemon.tail(30)}`,
    );
    assert.ok(!existsSync(config.socket), 'the socket file is removed');
    // Cancelled, not failed: the next start builds it again.
    assert.equal(daemon.named('build finished')[0]?.['code'], 'ABORTED');
    assert.ok(
      !existsSync(join(roots.tree, '.dkmsd-failures.json')) ||
        !/slow/.test(String(execFileSync('cat', [join(roots.tree, '.dkmsd-failures.json')]))),
    );
    assert.equal((await dkms(roots, ['remove', 'slow/1.0', '--all'])).code, 0);
  });

  it('client exit statuses: 3 without a daemon, 2 for usage errors', async () => {
    const missing = join(roots.root, 'nobody-here.sock');
    const none = await dkmsd(['notify', 'kernel-added', K47, '--wait', '--socket', missing]);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stderr, /no daemon reachable/);
    assert.equal((await dkmsd(['status', '--socket', missing])).code, 3);
    assert.equal((await dkmsd(['notify', 'kernel-added', K47], { DKMSD_SOCKET: missing })).code, 3);
    assert.equal((await dkmsd(['notify', 'kernel-added'])).code, 2);
    assert.equal((await dkmsd(['notify', 'kernel-added', '../etc'])).code, 2);
    assert.equal((await dkmsd(['notify', 'explode'])).code, 2);
    assert.equal((await dkmsd(['status', '--wait'])).code, 2);
    const help = await dkmsd(['notify', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /kernel-added KERNEL/);
  });

  it('reports unknown modules and kernels', async () => {
    const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
    const daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    try {
      await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
      const socket = ['--socket', config.socket];
      const unknownModule = await dkmsd(['notify', 'module-added', 'nosuch', '1.0', ...socket]);
      assert.equal(unknownModule.code, 1);
      assert.match(unknownModule.stderr, /NOT_ADDED/);
      const noKernel = await dkmsd(['notify', 'kernel-added', '9.9.9-nothing', ...socket]);
      assert.equal(noKernel.code, 1);
      assert.match(noKernel.stderr, /NO_HEADERS.*does not exist/);
    } finally {
      await daemon.stop();
    }
  });

  it('module-added builds for every kernel with headers; kernel-removed from a hook removes them and stays removed', async () => {
    roots.addFixture('hello-1.0');
    assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
    const initramfs = recorder(roots, 'initramfs-hook');
    const config = writeDaemonConfig(roots, {
      initramfs_command: initramfs.script,
      udev_command: '',
      autoinstall_all_kernels: 'no',
    });
    // Not the running kernel and autoinstall_all_kernels=no: the catch-up leaves K47 alone.
    const daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: '6.0.0-elsewhere' });
    try {
      await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
      assertTree(roots).notBuilt('hello', '1.0', K47);
      const socket = ['--socket', config.socket];
      const added = await dkmsd(['notify', 'module-added', 'hello', '1.0', '--wait', ...socket]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, new RegExp(`${K47} \\(${ARCH}\\): ok; installed hello/1\\.0`));
      assertTree(roots).installed('hello', '1.0', K47);
      const removed = await dkmsd(['notify', 'kernel-removed', K47, ...socket]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /removed hello/);
      assertTree(roots).notBuilt('hello', '1.0', K47);
      // The kernel directory is still there (its package is being removed): a rescan leaves it.
      assert.equal((await dkmsd(['notify', 'rescan', '--wait', ...socket])).code, 0);
      assertTree(roots).notBuilt('hello', '1.0', K47);
    } finally {
      await daemon.stop();
    }
  });

  it('starts from systemd sockets (LISTEN_FDS, LISTEN_FDNAMES), talks sd_notify and pings the watchdog', async () => {
    const socketPath = join(roots.root, 'activated.sock');
    const statusPath = join(roots.root, 'activated-status.sock');
    // The configured socket is elsewhere: under socket activation the one systemd passed counts.
    const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
    const notify = new NotifyListener(
      join(roots.root, 'notify.sock'),
      join(roots.root, 'notify.out'),
    );
    await notify.ready;
    // systemd-socket-activate holds the socket and starts dkmsd at the first connection,
    // as dkmsd.socket does: the poke that wakes it is not lost.
    const activator = spawn(
      'sh',
      [
        '-c',
        `umask 077; exec systemd-socket-activate -l ${socketPath} -l ${statusPath} --fdname=control:status -E NOTIFY_SOCKET -E WATCHDOG_USEC -E DKMS_RUNNING_KERNEL -E DKMS_OS_RELEASE ${dkmsdBin} run --config ${config.file}`,
      ],
      {
        env: {
          ...process.env,
          NOTIFY_SOCKET: notify.socketPath,
          WATCHDOG_USEC: '400000',
          DKMS_RUNNING_KERNEL: K47,
          DKMS_OS_RELEASE: '/etc/os-release',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      activator.once('exit', (code) => resolve(code)),
    );
    try {
      for (let i = 0; i < 50 && !existsSync(socketPath); i++) await sleep(100);
      // What SocketMode= does in the units (systemd-socket-activate has no such option).
      chmodSync(socketPath, 0o600);
      chmodSync(statusPath, 0o666);
      const refused = await dkmsd(['notify', 'rescan', '--socket', statusPath]);
      assert.match(refused.stderr, /NOT_PERMITTED/, 'the fd named status is read-only');
      const poke = await dkmsd(['notify', 'kernel-added', K47, '--wait', '--socket', socketPath]);
      assert.equal(poke.code, 0, `${poke.stdout}${poke.stderr}`);
      assert.match(poke.stdout, new RegExp(`${K47} \\(${ARCH}\\): ok`));
      for (let i = 0; i < 30 && !notify.messages().some((m) => m.includes('WATCHDOG=1')); i++)
        await sleep(100);
      activator.kill('SIGTERM');
      assert.equal(await exited, 0);
      const messages = notify.messages();
      assert.ok(
        messages.some((m) => m.includes('READY=1')),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => /STATUS=/.test(m)),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => m.includes('WATCHDOG=1')),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => m.includes('STOPPING=1')),
        messages.join('\n'),
      );
    } finally {
      activator.kill('SIGKILL');
      notify.close();
    }
  });
});
