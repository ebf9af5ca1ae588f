import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ARCH, K47, K50, dkms, makeRoots, type Roots } from '../helpers/roots.js';
import { noDifferences, pairMaker, sameOutput, type SandboxPair } from './pair.js';
import { compatSetup } from './setup.js';
import { inKernelModule, moduleSource, simpleConf, writeSource } from './sources.js';

const { skip, upstream } = await compatSetup([]);

/** Two modules in one package, built from one Makefile. */
const twoModules = (extra = ''): Record<string, string> => ({
  ...moduleSource('one'),
  Makefile: 'obj-m := one.o two.o\n',
  'two.c': moduleSource('two')['two.c'] ?? '',
  'dkms.conf': `PACKAGE_NAME="pair"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="one"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nBUILT_MODULE_NAME[1]="two"\nDEST_MODULE_LOCATION[1]="/updates/dkms"\n${extra}`,
});

describe(
  "install, uninstall, remove and kernel_prerm: ours and Debian sid's dkms",
  { skip },
  () => {
    const newPair = pairMaker(upstream, (pair) => {
      for (const roots of pair.both()) roots.addKernel(K50);
    });
    /** Same output and exit status, same trees after; resolves with our stdout. */
    const same = async (pair: SandboxPair, args: string[], code = 0): Promise<string> => {
      const out = await pair.runNormalized(args);
      sameOutput(args.join(' '), out, code);
      noDifferences(await pair.differences([]));
      return out.ours.stdout;
    };

    it('prints depmod after each install and uninstall, blank lines between kernels', async () => {
      const pair = newPair();
      pair.writeSource(
        'hello',
        '1.0',
        moduleSource('hello', {
          'dkms.conf': simpleConf('hello', '1.0', 'POST_REMOVE="removed.sh"\n'),
          'removed.sh +x': '#!/bin/sh\necho post_remove ran\n',
        }),
      );
      await same(pair, ['install', 'hello/1.0', '-k', K47, '-k', K50]);
      // the uninstall part (with its depmod), a blank line, then the install and its depmod
      await same(pair, ['install', 'hello/1.0', '-k', K47, '--force']);
      await same(pair, ['uninstall', 'hello/1.0', '-k', K47, '-k', K50]);
      await same(pair, ['uninstall', 'hello/1.0', '-k', K47]);
      await same(pair, ['install', 'hello/1.0', '-k', K50]);
      await same(pair, ['unbuild', 'hello/1.0', '-k', K47, '-k', K50]);
      await same(pair, ['install', 'hello/1.0', '-k', K47, '-k', K50]);
      await same(pair, ['remove', 'hello/1.0', '--all']);
    });

    it('restores originals module by module and deletes the emptied backup silently', async () => {
      const pair = newPair();
      pair.writeSource('pair', '1.0', twoModules());
      for (const roots of pair.both()) {
        await inKernelModule(join(roots.lib, K47, 'kernel/drivers/misc/one.ko'));
        await inKernelModule(join(roots.lib, K47, 'kernel/drivers/misc/two.ko'));
      }
      assert.match(await same(pair, ['install', 'pair/1.0', '-k', K47]), /Found pre-existing/);
      const uninstall = await same(pair, ['uninstall', 'pair/1.0', '-k', K47]);
      assert.match(uninstall, /one\.ko\nRestoring archived original module .*one\.ko\nDeleting/);
      assert.doesNotMatch(uninstall, /Removing original module/);
      await same(pair, ['install', 'pair/1.0', '-k', K47]);
      await same(pair, ['remove', 'pair/1.0', '-k', K47]);
    });

    it('kernel_prerm: a blank line after each module, one depmod at the end', async () => {
      const pair = newPair();
      for (const name of ['alpha', 'bravo'])
        pair.writeSource(name, '1.0', moduleSource(name, { 'dkms.conf': simpleConf(name, '1.0') }));
      await same(pair, ['install', 'alpha/1.0', '-k', K47]);
      await same(pair, ['install', 'bravo/1.0', '-k', K47]);
      await same(pair, ['build', 'bravo/1.0', '-k', K50]);
      await same(pair, ['kernel_prerm', '-k', K50]);
      assert.match(await same(pair, ['kernel_prerm', '-k', K47]), /\n\nRunning depmod/);
    });
  },
);

/** A sandbox with hello-1.0 in its source tree, for `body`. */
async function withHello(body: (roots: Roots) => Promise<void>): Promise<void> {
  const roots = makeRoots([K47]);
  try {
    writeSource(
      join(roots.src, 'hello-1.0'),
      moduleSource('hello', { 'dkms.conf': simpleConf('hello', '1.0') }),
    );
    await body(roots);
  } finally {
    roots.cleanup();
  }
}

// 3.4.3 only (the sid oracle, 3.2.2, predates these): golden output written from dkms.in.
describe('dkms 3.4.3 uninstall details', () => {
  it('says nothing about a version that is not installed when its conf has BUILD_EXCLUSIVE', async () => {
    const roots = makeRoots([K47]);
    try {
      writeSource(
        join(roots.src, 'ex-1.0'),
        moduleSource('ex', {
          'dkms.conf': simpleConf('ex', '1.0', 'BUILD_EXCLUSIVE_KERNEL="^6\\."\n'),
        }),
      );
      assert.equal((await dkms(roots, ['add', 'ex/1.0'])).code, 0);
      const uninstall = await dkms(roots, ['uninstall', 'ex/1.0', '-k', K47, '--no-depmod']);
      assert.deepEqual([uninstall.code, uninstall.stdout, uninstall.stderr], [0, '', '']);
      const remove = await dkms(roots, ['remove', 'ex/1.0', '-k', K47, '--no-depmod']);
      assert.equal(remove.code, 0, remove.stderr);
      assert.equal(
        remove.stdout,
        `Module ex/1.0 is not built for kernel ${K47} (${ARCH}). Skipping...\n\nDeleting module ex/1.0 completely from the DKMS tree.\n`,
      );
    } finally {
      roots.cleanup();
    }
  });

  it("keeps depmod-pending-<kver>-<arch> as dkms 3.4 does: kernel_prerm's own, an install's clearing", () =>
    withHello(async (roots) => {
      const marker = join(roots.tree, `depmod-pending-${K47}-${ARCH}`);
      // left by an earlier, interrupted kernel_prerm: the next install's depmod covers it
      writeFileSync(marker, '');
      const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, /\nRunning depmod\.\.\.\.* done\.\n$/);
      assert.ok(!existsSync(marker));
      assert.ok(existsSync(join(roots.lib, K47, 'modules.dep')));
      const prerm = await dkms(roots, ['kernel_prerm', '-k', K47]);
      assert.equal(prerm.code, 0, prerm.stderr);
      assert.match(prerm.stdout, /\n\nRunning depmod\.\.\.\.* done\.\n$/);
      assert.ok(!existsSync(marker));
    }));

  it('names a failing depmod as dkms does and rolls the install back', () =>
    withHello(async (roots) => {
      const bin = join(roots.root, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'depmod'), '#!/bin/sh\necho "depmod: broken" >&2\nexit 3\n', {
        mode: 0o755,
      });
      const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47], {
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
      });
      assert.equal(install.code, 6, install.stderr);
      assert.match(
        install.stdout,
        new RegExp(
          `\\nRunning depmod\\.\\.\\.\\.*\\(bad exit status: 3\\)\\nFailed command:\\ndo_depmod ${K47}\\n$`,
        ),
      );
      assert.match(install.stderr, /Problems with depmod detected/);
      assert.ok(!existsSync(join(roots.lib, K47, 'updates/dkms/hello.ko')));
    }));
});
