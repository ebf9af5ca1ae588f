import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ARCH, K47, dkms, makeRoots } from '../helpers/roots.js';
import { expectSame, noDifferences, pairMaker, sameOutput } from './pair.js';
import { compatSetup } from './setup.js';
import { inKernelModule, moduleSource, simpleConf, writeSource } from './sources.js';

const { skip, upstream } = await compatSetup([]);

/** hello 1.0, whose module says `version: 1.0`. */
const versioned = (): Record<string, string> =>
  moduleSource('hello', {
    'dkms.conf': simpleConf('hello', '1.0'),
    'hello.c': `${moduleSource('hello')['hello.c'] ?? ''}MODULE_VERSION("1.0");\n`,
  });

describe(
  "version sanity check (check_version_sanity): ours and Debian sid's dkms",
  { skip },
  () => {
    const newPair = pairMaker(upstream);

    it('refuses to replace a newer in-kernel module: the error, then Installation aborted (6)', async () => {
      const pair = newPair();
      pair.writeSource('hello', '1.0', versioned());
      for (const roots of pair.both())
        await inKernelModule(join(roots.lib, K47, 'kernel/drivers/misc/hello.ko'), '2.0');
      sameOutput('install', await pair.runNormalized(['install', 'hello/1.0', '-k', K47]), 6);
      noDifferences(await pair.differences([['-k', K47]]));
    });

    it('compares with the first same-named module find(1) lists, as upstream', async () => {
      const pair = newPair();
      pair.writeSource('hello', '1.0', versioned());
      for (const roots of pair.both()) {
        await inKernelModule(join(roots.lib, K47, 'kernel/drivers/misc/hello.ko'), '2.0');
        await inKernelModule(join(roots.lib, K47, 'kernel/drivers/net/hello.ko'), '3.0');
        await inKernelModule(join(roots.lib, K47, 'kernel/fs/hello.ko'), '0.5');
      }
      const out = await pair.runNormalized(['install', 'hello/1.0', '-k', K47]);
      expectSame('install', out);
      assert.equal(out.ours.stdout, out.upstream.stdout);
      assert.equal(out.ours.stderr, out.upstream.stderr);
      noDifferences(await pair.differences([['-k', K47]]));
    });
  },
);

// 3.4.3 only: the sid oracle (3.2.2) refuses every same-version module as "exactly matches".
describe('dkms 3.4.3 version sanity: the very same module', () => {
  it('refuses it as already installed, naming the kernel file (6)', async () => {
    const roots = makeRoots([K47]);
    try {
      writeSource(join(roots.src, 'hello-1.0'), versioned());
      const build = await dkms(roots, ['build', 'hello/1.0', '-k', K47]);
      assert.equal(build.code, 0, build.stderr);
      const inKernel = join(roots.lib, K47, 'kernel/drivers/misc/hello.ko');
      await inKernelModule(inKernel);
      copyFileSync(join(roots.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko'), inKernel);
      const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '--no-depmod']);
      assert.equal(install.code, 6);
      assert.equal(
        install.stderr,
        `Module ${inKernel} already installed at version 1.0, override by specifying --force\n\nError! Installation aborted.\n`,
      );
      assert.ok(!existsSync(join(roots.lib, K47, 'updates/dkms/hello.ko')));
      const forced = await dkms(roots, [
        'install',
        'hello/1.0',
        '-k',
        K47,
        '--no-depmod',
        '--force',
      ]);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      roots.cleanup();
    }
  });
});
