import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ARCH, K47, type Roots } from '../helpers/roots.js';
import { SandboxPair, expectSame, noDifferences } from './pair.js';
import { compatSetup, corpusSource, systemState } from './setup.js';
import type { Upstream } from './upstream.js';

/** Small Debian *-dkms packages, each chosen for what its dkms.conf exercises. */
const PACKAGES = [
  { deb: 'vpoll-dkms', module: 'vpoll', exercises: 'the smallest conf; AUTOINSTALL="YES"' },
  {
    deb: 'acpi-call-dkms',
    module: 'acpi-call',
    exercises: 'BUILD_EXCLUSIVE_CONFIG, MAKE with ${dkms_tree}',
  },
  {
    deb: 'dm-writeboost-dkms',
    module: 'dm-writeboost',
    exercises: 'BUILD_EXCLUSIVE_KERNEL_MIN, scalar MAKE=',
  },
  {
    deb: 'ddcci-dkms',
    module: 'ddcci',
    exercises: 'shell `if` + grep, two modules in subdirectories',
  },
  {
    deb: 'v4l2loopback-dkms',
    module: 'v4l2loopback',
    exercises: 'shell `if`, sources the kernel .config',
  },
  {
    deb: 'iptables-netflow-dkms',
    module: 'ipt-netflow',
    exercises: 'backticks, PRE_BUILD ./configure, STRIP=no',
  },
];

const { skip, upstream } = await compatSetup(PACKAGES.map((p) => p.deb));

describe("differential: ours and Debian sid's dkms on real corpus packages", { skip }, () => {
  const systemBefore = skip ? [] : systemState();

  for (const pkg of PACKAGES) {
    describe(`${pkg.deb} (${pkg.exercises})`, () => {
      let pair: SandboxPair;
      let module: string;
      let version: string;
      let statusCommands: string[][];
      before(() => {
        const source = corpusSource(upstream as Upstream, pkg.deb, pkg.module);
        pair = new SandboxPair(upstream as Upstream);
        pair.addSource(source.dir, pkg.module, source.version);
        module = pkg.module;
        version = source.version;
        statusCommands = [[], ['-m', module, '-k', K47]];
      });
      after(() => pair.cleanup());

      it('add, build, install: same exit codes, status lines, installed files and tree', async () => {
        expectSame('add', await pair.run(['add', '-m', module, '-v', version]), 0);
        expectSame('build', await pair.run(['build', '-m', module, '-v', version, '-k', K47]), 0);
        expectSame(
          'install',
          await pair.run(['install', '-m', module, '-v', version, '-k', K47]),
          0,
        );
        const status = await pair.status();
        assert.equal(status.upstream.stdout, `${module}/${version}, ${K47}, ${ARCH}: installed\n`);
        noDifferences(await pair.differences(statusCommands));
      });

      if (pkg.module === 'vpoll') {
        it('status annotations: original modules kept, installed module changed', async () => {
          const installed = (roots: Roots): string => join(roots.lib, K47, 'updates/dkms/vpoll.ko');
          const built = (roots: Roots): string =>
            join(roots.tree, module, version, K47, ARCH, 'module/vpoll.ko');
          for (const roots of pair.both()) {
            appendFileSync(installed(roots), 'changed after install');
            mkdirSync(join(roots.tree, module, 'original_module', K47, ARCH), { recursive: true });
          }
          const status = await pair.status();
          assert.match(
            status.upstream.stdout,
            /: installed \(Original modules exist\) \(Differences between built/,
          );
          noDifferences(await pair.differences(statusCommands));
          for (const roots of pair.both()) {
            rmSync(join(roots.tree, module, 'original_module'), { recursive: true });
            cpSync(built(roots), installed(roots));
          }
          noDifferences(await pair.differences(statusCommands));
        });
      }

      it('uninstall: same exit code, status lines, installed files and tree', async () => {
        expectSame(
          'uninstall',
          await pair.run(['uninstall', `${module}/${version}`, '-k', K47]),
          0,
        );
        assert.equal(
          (await pair.status()).upstream.stdout,
          `${module}/${version}, ${K47}, ${ARCH}: built\n`,
        );
        noDifferences(await pair.differences(statusCommands));
      });

      it('remove --all: same exit code, status lines, installed files and tree', async () => {
        expectSame('remove', await pair.run(['remove', `${module}/${version}`, '--all']), 0);
        assert.equal((await pair.status()).upstream.stdout, '');
        noDifferences(await pair.differences(statusCommands));
      });
    });
  }

  it('left /etc/dkms, /var/lib/dkms and the real module tree as they were', () => {
    assert.deepEqual(systemState(), systemBefore);
  });
});
