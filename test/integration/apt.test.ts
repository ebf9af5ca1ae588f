// Through the real package manager: a real linux-headers package installed and purged with dpkg,
// the Debian kernel hooks from scripts/install.sh in the real /etc/kernel, a real dkmsd. Root only.
// dkms-ts itself is installed with a temporary PREFIX and SYSCONFDIR (a real install would also
// write /etc/dkms, which test/compat watches); only its four kernel hooks are copied to
// /etc/kernel/*.d/. What changes on the machine (those hooks, /lib/modules/6.1.0-53-amd64, the
// packages) is put back afterwards, also when a test fails.
import assert from 'node:assert/strict';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { ARCH, K47, K50, dkmsBin, makeRoots, repoRoot, run, type Roots } from '../helpers/roots.js';
import {
  DkmsdProcess,
  recorder,
  startDkmsd,
  type LogRecord,
} from '../daemon/helpers/dkmsdProcess.js';
import { dpkgStatus, fileLines, isRoot, which, writeProbeModule } from './helpers/system.js';

const KERNEL = '6.1.0-53-amd64';
const PACKAGES = ['linux-headers-6.1.0-53-common', `linux-headers-${KERNEL}`];
const MODULE = 'dkmsts_apt_probe';
const LIB_MODULES = '/lib/modules';
const KERNEL_DIR = join(LIB_MODULES, KERNEL);
const MODULE_FILE = join(KERNEL_DIR, 'updates', 'dkms', `${MODULE}.ko`);
const HOOK_DIRS = ['postinst', 'header_postinst', 'preinst', 'prerm'].map(
  (hook) => `/etc/kernel/${hook}.d`,
);
const CACHE = join(tmpdir(), 'dkms-ts-apt-cache');

/** Why this machine cannot run the test (it would clobber something real), if it cannot. */
function machineProblem(): string | undefined {
  if (!isRoot()) return 'needs root (dpkg -i, /etc/kernel, /lib/modules)';
  for (const tool of ['dpkg', 'apt-get', 'run-parts', 'modinfo'])
    if (!which(tool)) return `${tool} is not installed`;
  for (const pkg of PACKAGES)
    if (dpkgStatus(pkg)) return `${pkg} is on this machine already (${dpkgStatus(pkg)})`;
  if (existsSync(KERNEL_DIR)) return `${KERNEL_DIR} exists already`;
  for (const dir of HOOK_DIRS)
    if (existsSync(join(dir, 'dkms')))
      return `${dir}/dkms exists (dkms is installed): not replaced`;
  if (!existsSync(join(repoRoot, 'node_modules'))) return 'no node_modules (run npm ci)';
  return undefined;
}

/** The .debs of PACKAGES, from the cache or downloaded into it; a string says why not. */
async function fetchDebs(): Promise<string[] | string> {
  mkdirSync(CACHE, { recursive: true });
  const cached = (): string[] =>
    PACKAGES.map((pkg) => readdirSync(CACHE).find((file) => file.startsWith(`${pkg}_`)))
      .filter((file): file is string => file !== undefined)
      .map((file) => join(CACHE, file));
  const download = () =>
    run('sh', ['-c', 'cd "$0" && exec apt-get download "$@"', CACHE, ...PACKAGES]);
  if (cached().length === PACKAGES.length) return cached();
  let fetched = await download();
  if (fetched.code !== 0) {
    // A machine whose package lists were never fetched: once, as apt users do.
    await run('apt-get', ['update', '-qq']);
    fetched = await download();
  }
  if (cached().length === PACKAGES.length) return cached();
  return `apt-get download ${PACKAGES.join(' ')} failed: ${fetched.stderr.trim().split('\n').slice(-2).join(' ')}`;
}

const problem = machineProblem();
const debs = problem ? [] : await fetchDebs();
const skip = problem ?? (typeof debs === 'string' ? debs : false);

describe('apt/dpkg: a linux-headers package through the kernel hooks and dkmsd', { skip }, () => {
  let roots: Roots;
  let daemon: DkmsdProcess | undefined;
  let socket: string;
  let initramfs: { script: string; calls: string };
  /** What the test added to /etc/kernel: the hooks, and directories that were not there. */
  const placed: string[] = [];
  // The trees dkms works on: temporary, except the install tree, which is where apt puts headers.
  const treeArgs = (): string[] => [
    '--dkmstree',
    roots.tree,
    '--sourcetree',
    roots.src,
    '--installtree',
    LIB_MODULES,
    '--confdir',
    roots.confDir,
  ];
  const dkms = (args: string[]) =>
    run(dkmsBin, [...args, ...treeArgs()], { DKMS_OS_RELEASE: '/etc/os-release' });
  // What dpkg runs the maintainer scripts (and through them the hooks) with.
  const dpkgEnv = () => ({ DKMSD_SOCKET: socket, DEBIAN_FRONTEND: 'noninteractive' });
  const requests = (type: string): LogRecord[] =>
    (daemon?.named('request') ?? []).filter((record) => {
      const request = record['request'] as { type?: string; kernel?: string } | undefined;
      return request?.type === type && request.kernel === KERNEL;
    });

  before(async () => {
    roots = makeRoots([]);
    writeProbeModule(roots.src, MODULE);
    const prefix = join(roots.root, 'prefix');
    const sysconfdir = join(roots.root, 'sysconf');
    const install = await run('bash', [join(repoRoot, 'scripts', 'install.sh')], {
      PREFIX: prefix,
      SYSCONFDIR: sysconfdir,
    });
    assert.equal(install.code, 0, `install.sh failed:\n${install.stdout}\n${install.stderr}`);
    for (const dir of HOOK_DIRS) {
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        placed.push(dir);
      }
      copyFileSync(join(sysconfdir, dir.slice('/etc/'.length), 'dkms'), join(dir, 'dkms'));
      placed.push(join(dir, 'dkms'));
    }
    const added = await dkms(['add', '-m', MODULE, '-v', '1.0']);
    assert.equal(added.code, 0, added.stderr);
    initramfs = recorder(roots, 'initramfs');
    ({ daemon, socket } = await startDkmsd(roots, {
      install_tree: LIB_MODULES,
      initramfs_command: initramfs.script,
      udev_command: '',
      // Only what arrives during the test gets built: not the kernels already on the machine.
      autoinstall_all_kernels: 'no',
    }));
  });

  after(async () => {
    // Everything is put back even when a step fails; the failures are reported together.
    const problems: string[] = [];
    const step = async (what: string, action: () => unknown): Promise<void> => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${String(error)}`);
      }
    };
    await step('stopping dkmsd', () => daemon?.stop());
    await step('purging the headers', async () => {
      const left = PACKAGES.filter((pkg) => dpkgStatus(pkg));
      if (left.length === 0) return;
      const purged = await run('dpkg', ['--purge', ...left], { DEBIAN_FRONTEND: 'noninteractive' });
      if (purged.code !== 0) throw new Error(purged.stderr);
    });
    // Whatever dkms and depmod left there (the test started only when it did not exist).
    await step(`removing ${KERNEL_DIR}`, () =>
      rmSync(KERNEL_DIR, { recursive: true, force: true }),
    );
    // Hooks first, then the directories made for them.
    for (const path of placed.reverse())
      await step(`removing ${path}`, () => rmSync(path, { recursive: true, force: true }));
    roots?.cleanup();
    assert.deepEqual(problems, [], 'the machine was not fully restored');
  });

  it('install.sh made kernel hooks that use the installed library and dkmsd', () => {
    const prefix = join(roots.root, 'prefix');
    for (const dir of HOOK_DIRS) {
      const hook = join(dir, 'dkms');
      accessSync(hook, constants.X_OK);
      assert.ok(readFileSync(hook, 'utf8').includes(`${prefix}/lib/dkms-ts/hooks/lib/`), hook);
    }
    const library = join(prefix, 'lib', 'dkms-ts', 'hooks', 'lib', 'dkms-hook-lib.sh');
    assert.match(
      readFileSync(library, 'utf8'),
      new RegExp(`^dkms_hook_sbindir=${prefix}/sbin$`, 'm'),
    );
    accessSync(join(prefix, 'sbin', 'dkmsd'), constants.X_OK);
  });

  it('dpkg -i of the headers: the module is installed for the kernel when dpkg returns', async () => {
    const dpkg = await run('dpkg', ['-i', ...(debs as string[])], dpkgEnv());
    const output = `${dpkg.stdout}\n${dpkg.stderr}`;
    assert.equal(dpkg.code, 0, output);
    // The header_postinst hook ran, asked the daemon (not the dkms fallback), and said nothing else.
    assert.match(output, new RegExp(`dkms: installing DKMS modules for kernel ${KERNEL}`));
    assert.doesNotMatch(output, /FAILED/);
    assert.equal(requests('kernel-added').length, 1, daemon?.tail());

    assert.ok(existsSync(MODULE_FILE), `no ${MODULE_FILE} when dpkg returned`);
    const vermagic = await run('modinfo', ['-F', 'vermagic', MODULE_FILE]);
    assert.match(vermagic.stdout, new RegExp(`^${KERNEL.replace(/\./g, '\\.')} `));
    const status = await dkms(['status']);
    assert.equal(status.stdout.trim(), `${MODULE}/1.0, ${KERNEL}, ${ARCH}: installed`);
    assert.match(
      readFileSync(join(KERNEL_DIR, 'modules.dep'), 'utf8'),
      new RegExp(`^updates/dkms/${MODULE}\\.ko:`, 'm'),
    );
    assert.deepEqual(fileLines(initramfs.calls), [KERNEL]);
    // The kernels already on the machine were left alone.
    assertTree(roots).notBuilt(MODULE, '1.0', K47);
    assertTree(roots).notBuilt(MODULE, '1.0', K50);
  });

  it('dpkg --purge of the headers succeeds, the hooks staying quiet', async () => {
    const dpkg = await run('dpkg', ['--purge', ...PACKAGES.slice().reverse()], dpkgEnv());
    assert.equal(dpkg.code, 0, `${dpkg.stdout}\n${dpkg.stderr}`);
    assert.doesNotMatch(dpkg.stderr, /FAILED/);
    assert.ok(!existsSync(join(KERNEL_DIR, 'build')), 'the build link is still there');
  });

  it('dpkg --purge of the headers of a kernel without an image cleans the dkms tree', async () => {
    // Debian has no header_prerm.d: dkmsd sees /usr/src/linux-headers-KVER go, and with no
    // kernel image or in-tree modules left the kernel is gone, whatever dpkg left behind.
    const pattern = new RegExp(KERNEL.replace(/\./g, '\\.'));
    let status = await dkms(['status']);
    for (let i = 0; i < 60 && pattern.test(status.stdout); i++) {
      await sleep(500);
      status = await dkms(['status']);
    }
    assert.doesNotMatch(status.stdout, pattern, daemon?.tail());
    assert.ok(!existsSync(MODULE_FILE), `${MODULE_FILE} is still there`);
  });

  it("the prerm hooks, run as linux-image's prerm runs them, have dkmsd remove the module", async () => {
    // linux-image-KVER.prerm: DEB_MAINT_PARAMS="$*"; run-parts ... --arg=KVER --arg=IMAGE
    const prerm = await run(
      'run-parts',
      [
        '--report',
        '--exit-on-error',
        `--arg=${KERNEL}`,
        `--arg=/boot/vmlinuz-${KERNEL}`,
        '/etc/kernel/prerm.d',
      ],
      { ...dpkgEnv(), DEB_MAINT_PARAMS: 'remove' },
    );
    assert.equal(prerm.code, 0, `${prerm.stdout}\n${prerm.stderr}`);
    assert.equal(prerm.stderr.trim(), '', 'the prerm hook is quiet when all goes well');
    assert.equal(requests('kernel-removed').length, 1, daemon?.tail());
    assert.ok(!existsSync(MODULE_FILE), `${MODULE_FILE} is still there`);
    assertTree(roots).notInstalled(MODULE, KERNEL);
    assertTree(roots).notBuilt(MODULE, '1.0', KERNEL);
    assertTree(roots).added(MODULE, '1.0');
    const status = await dkms(['status']);
    assert.equal(status.stdout.trim(), `${MODULE}/1.0: added`);
  });
});
