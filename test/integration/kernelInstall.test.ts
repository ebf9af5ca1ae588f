// hooks/kernel-install/40-dkms.install run by the real kernel-install, against a real dkmsd (and,
// once the daemon is stopped, the real dkms) in temporary roots with the real 6.1.0-50 headers.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import {
  K50,
  dkms,
  dkmsBin,
  dkmsdBin,
  haveHeaders,
  makeRoots,
  repoRoot,
  run,
  type Roots,
} from '../helpers/roots.js';
import {
  DkmsdProcess,
  recorder,
  startDkmsd,
  type LogRecord,
} from '../daemon/helpers/dkmsdProcess.js';
import { fileLines, which } from './helpers/system.js';

const PLUGIN = join(repoRoot, 'hooks', 'kernel-install', '40-dkms.install');
const MACHINE_ID = 'd1c5e7a0d1c5e7a0d1c5e7a0d1c5e7a0';
const skip =
  (!which('kernel-install') && 'kernel-install (systemd) is not installed') ||
  (!haveHeaders(K50) && 'no headers for 6.1.0-50-amd64') ||
  false;

describe('kernel-install add/remove runs 40-dkms.install', { skip }, () => {
  let roots: Roots;
  let daemon: DkmsdProcess | undefined;
  let socket: string;
  let initramfs: { script: string; calls: string };
  let image: string;
  let sandboxDkms: string;
  const helloKo = `updates/dkms/hello.ko`;

  /**
   * `kernel-install [--verbose] ACTION K50 [IMAGE]` with our plugin only (the stock ones would
   * run depmod on the real /lib/modules and write boot entries), its boot and configuration
   * in the sandbox. `dkms` is `fallbackDkms`: the stand-in that fails unless a test expects dkms.
   */
  const kernelInstall = (action: 'add' | 'remove', fallbackDkms: string, verbose = false) =>
    run(
      'kernel-install',
      [...(verbose ? ['--verbose'] : []), action, K50, ...(action === 'add' ? [image] : [])],
      {
        KERNEL_INSTALL_PLUGINS: PLUGIN,
        KERNEL_INSTALL_CONF_ROOT: join(roots.root, 'etc', 'kernel'),
        BOOT_ROOT: join(roots.root, 'boot'),
        MACHINE_ID,
        DKMS_HOOK_ROOT: roots.root,
        DKMSD_BIN: dkmsdBin,
        DKMSD_SOCKET: socket,
        DKMS_BIN: fallbackDkms,
        DKMS_OS_RELEASE: '/etc/os-release',
      },
    );
  const requests = (type: string): LogRecord[] =>
    (daemon?.named('request') ?? []).filter(
      (record) => (record['request'] as { type?: string } | undefined)?.type === type,
    );
  const noDkms = (): string => join(roots.root, 'no-dkms');

  before(async () => {
    roots = makeRoots([]);
    for (const fixture of ['hello-1.0', 'broken-1.0']) {
      roots.addFixture(fixture);
      const added = await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')]);
      assert.equal(added.code, 0, added.stderr);
    }
    mkdirSync(join(roots.root, 'boot'));
    mkdirSync(join(roots.root, 'etc', 'kernel'), { recursive: true });
    image = join(roots.root, `vmlinuz-${K50}`);
    writeFileSync(image, 'not a kernel: kernel-install only checks that the image exists\n');
    // While the daemon runs, the hook must not fall back to dkms: this one says so if it does.
    writeFileSync(noDkms(), '#!/bin/sh\necho "unexpected fallback: dkms $*" >&2\nexit 1\n', {
      mode: 0o755,
    });
    // With the daemon stopped, the real dkms on the sandbox's trees.
    sandboxDkms = join(roots.root, 'sandbox-dkms');
    writeFileSync(sandboxDkms, `#!/bin/sh\nexec ${dkmsBin} "$@" ${roots.treeArgs.join(' ')}\n`, {
      mode: 0o755,
    });
    initramfs = recorder(roots, 'initramfs');
    ({ daemon, socket } = await startDkmsd(roots, {
      initramfs_command: initramfs.script,
      udev_command: '',
      // The watcher would see the kernel directory too; the plugin alone should do the work.
      debounce_ms: '600000',
    }));
  });

  after(async () => {
    await daemon?.stop();
    roots?.cleanup();
  });

  it('add: the module is installed when kernel-install returns; a failed build is reported, exit 0', async () => {
    roots.addKernel(K50);
    const added = await kernelInstall('add', noDkms(), true);
    assert.equal(added.code, 0, added.stderr);
    // kernel-install (--verbose, on stdout) called the plugin as documented: add KVER ENTRY_DIR IMAGE
    assert.match(
      added.stdout,
      new RegExp(`${PLUGIN} add ${K50} ${join(roots.root, 'boot', MACHINE_ID, K50)} ${image}`),
    );
    assert.equal(requests('kernel-added').length, 1, daemon?.tail());
    const tree = assertTree(roots);
    tree.installed('hello', '1.0', K50);
    const vermagic = await run('modinfo', ['-F', 'vermagic', tree.moduleFile(K50, helloKo)]);
    assert.match(vermagic.stdout, new RegExp(`^${K50.replace(/\./g, '\\.')} `));
    tree.notInstalled('broken', K50);
    assert.match(added.stderr, /broken\/1\.0 failed for 6\.1\.0-50-amd64/);
    const logPath = /log: (\S+make\.log)$/m.exec(added.stderr)?.[1] ?? '';
    assert.ok(logPath.startsWith(join(roots.tree, 'broken', '1.0')), 'the failure names its log');
    assert.match(readFileSync(logPath, 'utf8'), /error/);
    assert.match(
      added.stderr,
      new RegExp(`dkms: FAILED: dkmsd could not install some DKMS modules for kernel ${K50}`),
    );
    assert.doesNotMatch(added.stderr, /unexpected fallback/);
    assert.deepEqual(fileLines(initramfs.calls), [K50]);
  });

  it('remove: dkmsd removes the module for that kernel', async () => {
    const removed = await kernelInstall('remove', noDkms());
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr.trim(), '', 'quiet when all goes well');
    assert.equal(requests('kernel-removed').length, 1, daemon?.tail());
    const tree = assertTree(roots);
    tree.notInstalled('hello', K50);
    tree.notBuilt('hello', '1.0', K50);
    tree.noModuleFile(K50, helloKo);
    tree.added('hello', '1.0');
  });

  it('add with the daemon stopped: the plugin runs dkms kernel_postinst itself, exit 0', async () => {
    assert.equal(await daemon?.stop(), 0);
    daemon = undefined;
    const added = await kernelInstall('add', sandboxDkms);
    assert.equal(added.code, 0, added.stderr);
    const tree = assertTree(roots);
    tree.installed('hello', '1.0', K50);
    tree.moduleFile(K50, helloKo);
    tree.notInstalled('broken', K50);
    assert.match(
      added.stderr,
      new RegExp(
        `dkms: FAILED: building DKMS modules for kernel ${K50} \\(dkms kernel_postinst -k ${K50}\\)`,
      ),
    );
    assert.match(added.stderr, /broken/, 'the dkms output naming the failed module is shown');
  });

  it('remove with the daemon stopped: dkms kernel_prerm, and the empty updates/ goes', async () => {
    const removed = await kernelInstall('remove', sandboxDkms);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr.trim(), '');
    const tree = assertTree(roots);
    tree.notInstalled('hello', K50);
    tree.notBuilt('hello', '1.0', K50);
    assert.ok(!existsSync(join(roots.lib, K50, 'updates')), 'updates/ is still there');
  });
});
