import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { failurePolicy, readReadiness, type ReadinessRecord } from '../../src/core/readiness.js';
import { readinessRecord } from '../../src/engine/readiness.js';
import { loadSchema, validate } from '../status/jsonSchema.js';
import { DkmsdProcess, startDkmsd } from '../daemon/helpers/dkmsdProcess.js';
import {
  K47,
  K50,
  dkms,
  dkmsBin,
  dkmsdBin,
  makeRoots,
  repoRoot,
  run,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';

describe('readiness records and the policy, as values', () => {
  it('reads autoinstall_failure, warning about unknown values', () => {
    assert.deepEqual(failurePolicy({}), { policy: 'warn' });
    assert.deepEqual(failurePolicy({ autoinstall_failure: ' fail ' }), { policy: 'fail' });
    const odd = failurePolicy({ autoinstall_failure: 'panic' });
    assert.equal(odd.policy, 'warn');
    assert.match(odd.warning ?? '', /autoinstall_failure=panic .* not fail, warn or defer/);
  });

  it('is ready, missing modules or building', () => {
    const meta = { policy: 'warn' as const, writer: 'dkms' as const, now: new Date(0) };
    const hello = { module: 'hello', version: '1.0' };
    const base = { kernel: K50, arch: 'x86_64', installed: [hello] };
    assert.equal(readinessRecord({ ...base, failed: [] }, meta).state, 'ready');
    const missing = readinessRecord(
      { ...base, failed: [{ module: 'b', version: '1', code: 'BUILD_FAILED', logPath: '/l' }] },
      meta,
    );
    assert.equal(missing.state, 'missing-modules');
    assert.deepEqual(missing.missing, [
      { module: 'b', version: '1', reason: 'failed', code: 'BUILD_FAILED', logPath: '/l' },
    ]);
    const building = readinessRecord({ ...base, failed: [], pending: [hello] }, meta);
    assert.equal(building.state, 'building');
    assert.equal(building.pid, process.pid);
    assert.deepEqual(building.installed, ['hello/1.0']);
  });
});

/** A bootctl stand-in (no EFI here): systemd-boot installed, records every call. */
function fakeBootctl(roots: Roots): { path: string; calls: () => string[] } {
  const path = join(roots.root, 'bootctl');
  const log = join(roots.root, 'bootctl.log');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexit 0\n`);
  chmodSync(path, 0o755);
  return {
    path,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}

const DEBIAN_HOOK = join(repoRoot, 'hooks', 'debian', 'kernel-postinst.d-dkms');
const KERNEL_INSTALL_PLUGIN = join(repoRoot, 'hooks', 'kernel-install', '40-dkms.install');
const haveKernelInstall = (await run('sh', ['-c', 'command -v kernel-install'])).code === 0;

describe(
  'a kernel whose AUTOINSTALL module fails, with the real dkms',
  { skip: skipWithoutHeaders },
  () => {
    let roots: Roots;
    let bootctl: ReturnType<typeof fakeBootctl>;
    const env = (): NodeJS.ProcessEnv => ({
      DKMS_RUNNING_KERNEL: K47,
      DKMS_BOOTCTL: bootctl.path,
      DKMS_EFI_DIR: join(roots.root, 'efi'),
    });
    const policy = (value: string): void =>
      writeFileSync(join(roots.confDir, 'framework.conf'), `autoinstall_failure=${value}\n`);
    /** What the package hooks see: dkms with this sandbox's trees, no daemon. */
    const hookEnv = (): NodeJS.ProcessEnv => {
      const wrapper = join(roots.root, 'dkms');
      writeFileSync(
        wrapper,
        `#!/bin/sh\nexec '${dkmsBin}' "$@" ${roots.treeArgs.map((a) => `'${a}'`).join(' ')}\n`,
      );
      chmodSync(wrapper, 0o755);
      return {
        ...env(),
        DKMS_BIN: wrapper,
        DKMS_HOOK_USE_DAEMON: 'no',
        DKMS_HOOK_ROOT: roots.root,
        DKMS_OS_RELEASE: '/etc/os-release',
        DKMS_HOOK_SYSTEMD_DIR: join(roots.root, 'no-systemd'),
      };
    };
    const record = (): ReadinessRecord | undefined => readReadiness(roots.tree, K50);
    /** Forgets the last run: no record, nothing installed, the boot default as it was. */
    const reset = async (): Promise<void> => {
      for (const module of ['hello/1.0', 'broken/1.0'])
        await dkms(roots, ['unbuild', module, '-k', K50]);
      rmSync(join(roots.tree, '.readiness'), { recursive: true, force: true });
      rmSync(join(roots.root, 'bootctl.log'), { force: true });
    };

    before(async () => {
      roots = makeRoots([K47, K50]);
      bootctl = fakeBootctl(roots);
      // the kernel package would bring these; the hooks check for them
      mkdirSync(join(roots.lib, K50, 'kernel'), { recursive: true });
      for (const fixture of ['hello-1.0', 'broken-1.0']) {
        roots.addFixture(fixture);
        const r = await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')]);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(() => roots.cleanup());
    beforeEach(reset);

    it('dkms autoinstall records it, and every reader shows it', async () => {
      const r = await dkms(roots, ['autoinstall', '-k', K50], env());
      assert.equal(r.code, 11);
      const rec = record();
      assert.equal(rec?.state, 'missing-modules');
      assert.equal(rec?.policy, 'warn');
      assert.deepEqual(rec?.installed, ['hello/1.0']);
      assert.deepEqual(
        rec?.missing.map((m) => [m.module, m.reason, m.code]),
        [['broken', 'failed', 'BUILD_FAILED']],
      );
      assert.ok(rec?.missing[0]?.logPath && existsSync(rec.missing[0].logPath));

      const shown = await dkms(roots, ['readiness'], env());
      assert.equal(shown.code, 1);
      assert.match(
        shown.stdout,
        new RegExp(`^${K50}: missing-modules: broken/1.0 \\(failed BUILD_FAILED, /`, 'm'),
      );
      assert.equal((await dkms(roots, ['readiness', '-k', K47], env())).code, 4);
      assert.equal((await dkms(roots, ['readiness', '--policy'], env())).stdout, 'warn\n');

      const status = await dkms(roots, ['status', '--json'], env());
      const document = JSON.parse(status.stdout) as { readiness: ReadinessRecord[] };
      assert.deepEqual(document.readiness, [rec]);
      assert.deepEqual(validate(loadSchema('dkms-status.schema.json'), document), []);

      const doctor = await dkms(roots, ['doctor', '--json', '-k', K50], env());
      const findings = (
        JSON.parse(doctor.stdout) as {
          findings: { check: string; severity: string; message: string }[];
        }
      ).findings.filter((f) => f.check === 'readiness');
      assert.equal(findings.length, 1);
      assert.equal(findings[0]?.severity, 'warning');
      assert.match(
        findings[0]?.message ?? '',
        /missing AUTOINSTALL modules: broken\/1.0 \(failed BUILD_FAILED\); booting it now/,
      );
    });

    it('keeps the boot default on the running kernel until the kernel is ready', async () => {
      assert.equal((await dkms(roots, ['autoinstall', '-k', K50], env())).code, 11);
      assert.deepEqual(bootctl.calls(), ['is-installed', 'set-default @current']);
      assert.equal(record()?.heldDefault, true);
      // the broken module is fixed: removed
      assert.equal((await dkms(roots, ['remove', 'broken/1.0', '--all'])).code, 0);
      try {
        const again = await dkms(roots, ['autoinstall', '-k', K50], env());
        assert.equal(again.code, 0, again.stderr);
        assert.equal(record()?.state, 'ready');
        assert.equal(record()?.heldDefault, undefined);
        assert.deepEqual(bootctl.calls().slice(-1), ['set-default ']);
        assert.match(again.stdout, /is ready: the boot loader's default entry is its own again/);
      } finally {
        roots.addFixture('broken-1.0');
        await dkms(roots, ['add', 'broken/1.0']);
      }
    });

    it('kernel_prerm forgets the record and gives a held default back', async () => {
      assert.equal((await dkms(roots, ['autoinstall', '-k', K50], env())).code, 11);
      assert.equal(record()?.heldDefault, true);
      const r = await dkms(roots, ['kernel_prerm', '-k', K50], env());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(record(), undefined);
      assert.deepEqual(bootctl.calls().slice(-1), ['set-default ']);
    });

    it('leaves an administrator-set boot default and the running kernel alone', async () => {
      mkdirSync(join(roots.root, 'efi', 'efivars'), { recursive: true });
      const variable = join(
        roots.root,
        'efi',
        'efivars',
        'LoaderEntryDefault-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f',
      );
      writeFileSync(variable, 'x');
      try {
        await dkms(roots, ['autoinstall', '-k', K50], env());
        assert.ok(
          !bootctl.calls().some((call) => call.startsWith('set-default')),
          'default changed',
        );
      } finally {
        rmSync(variable);
      }
      await dkms(roots, ['autoinstall', '-k', K50], { ...env(), DKMS_RUNNING_KERNEL: K50 });
      assert.ok(!bootctl.calls().some((call) => call.startsWith('set-default')), 'default changed');
    });

    for (const value of ['fail', 'warn', 'defer'] as const) {
      it(`autoinstall_failure=${value} through the Debian hook`, async () => {
        policy(value);
        try {
          const r = await run('sh', [DEBIAN_HOOK, K50, `/boot/vmlinuz-${K50}`], hookEnv());
          // defer without dkmsd or systemd builds at once, like warn
          assert.equal(r.code, value === 'fail' ? 1 : 0, r.stderr);
          assert.match(r.stderr, /FAILED: building DKMS modules for kernel 6\.1\.0-50-amd64/);
          if (value === 'fail')
            assert.match(r.stderr, /autoinstall_failure=fail \(framework\.conf\)/);
          if (value === 'defer') assert.match(r.stderr, /neither dkmsd nor systemd/);
          assert.equal(record()?.state, 'missing-modules');
          assert.equal(record()?.policy, value);
          // fail: no entry to protect, kernel-install stops before it
          assert.deepEqual(bootctl.calls().includes('set-default @current'), value !== 'fail');
        } finally {
          policy('warn');
        }
      });

      it(
        `autoinstall_failure=${value} through kernel-install`,
        { skip: !haveKernelInstall && 'no kernel-install' },
        async () => {
          policy(value);
          const image = join(roots.root, `vmlinuz-${K50}`);
          writeFileSync(image, 'not a kernel\n');
          mkdirSync(join(roots.root, 'boot'), { recursive: true });
          mkdirSync(join(roots.root, 'etc', 'kernel'), { recursive: true });
          try {
            const r = await run('kernel-install', ['add', K50, image], {
              ...hookEnv(),
              KERNEL_INSTALL_PLUGINS: KERNEL_INSTALL_PLUGIN,
              KERNEL_INSTALL_CONF_ROOT: join(roots.root, 'etc', 'kernel'),
              BOOT_ROOT: join(roots.root, 'boot'),
              MACHINE_ID: 'd1c5e7a0d1c5e7a0d1c5e7a0d1c5e7a0',
            });
            assert.equal(r.code === 0, value !== 'fail', `${r.code}: ${r.stderr}`);
            assert.equal(record()?.state, 'missing-modules');
          } finally {
            policy('warn');
          }
        },
      );
    }
  },
);

describe('autoinstall_failure=defer with a real dkmsd', { skip: skipWithoutHeaders }, () => {
  let roots: Roots;
  let daemon: DkmsdProcess;
  let socket: string;
  before(async () => {
    roots = makeRoots([K47]);
    for (const fixture of ['hello-1.0', 'broken-1.0']) {
      roots.addFixture(fixture);
      assert.equal((await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')])).code, 0);
    }
    writeFileSync(join(roots.confDir, 'framework.conf'), 'autoinstall_failure=defer\n');
    ({ daemon, socket } = await startDkmsd(
      roots,
      {
        initramfs_command: '',
        udev_command: '',
        inhibit_command: '',
        // the hook, not the watcher, tells the daemon about the new kernel
        debounce_ms: '600000',
      },
      { DKMS_RUNNING_KERNEL: K47 },
    ));
  });
  after(async () => {
    await daemon.stop();
    roots.cleanup();
  });

  it('the Debian hook returns at once; dkmsd builds and records the kernel', async () => {
    roots.addKernel(K50);
    mkdirSync(join(roots.lib, K50, 'kernel'), { recursive: true });
    const wrapper = join(roots.root, 'dkms');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec '${dkmsBin}' "$@" ${roots.treeArgs.map((a) => `'${a}'`).join(' ')}\n`,
      { mode: 0o755 },
    );
    const r = await run('sh', [DEBIAN_HOOK, K50, `/boot/vmlinuz-${K50}`], {
      DKMS_BIN: wrapper,
      DKMSD_BIN: dkmsdBin,
      DKMSD_SOCKET: socket,
      DKMS_HOOK_USE_DAEMON: 'yes',
      DKMS_HOOK_ROOT: roots.root,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /dkmsd builds the DKMS modules for kernel 6\.1\.0-50-amd64 in the background/,
    );
    assert.equal(daemon.named('kernel finished').filter((x) => x['kernel'] === K50).length, 0);
    await daemon.waitFor((x) => x.msg === 'kernel finished' && x['kernel'] === K50, 'the kernel');
    for (let i = 0; i < 50 && readReadiness(roots.tree, K50)?.state !== 'missing-modules'; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const rec = readReadiness(roots.tree, K50);
    assert.equal(rec?.state, 'missing-modules');
    assert.equal(rec?.writer, 'dkmsd');
    assert.equal(rec?.policy, 'defer');
    assert.deepEqual(rec?.installed, ['hello/1.0']);
    assert.deepEqual(
      rec?.missing.map((m) => `${m.module}/${m.version} ${m.reason}`),
      ['broken/1.0 failed'],
    );
  });
});
