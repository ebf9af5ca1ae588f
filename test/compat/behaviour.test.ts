import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { K47, dkms, makeRoots } from '../helpers/roots.js';
import { pairMaker, sameOutput } from './pair.js';
import { compatSetup } from './setup.js';
import { moduleSource, simpleConf } from './sources.js';

const { skip, upstream } = await compatSetup([]);

describe(
  "dkms.conf errors, broken modules, autoinstall: ours and Debian sid's dkms",
  { skip },
  () => {
    const newPair = pairMaker(upstream);

    it('rejects a malformed dkms.conf with each error line and exit 8', async () => {
      const pair = newPair();
      pair.writeSource(
        'bad',
        '1.0',
        moduleSource('bad', {
          'dkms.conf':
            'PACKAGE_NAME="bad"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="bad.ko"\nBUILT_MODULE_NAME[1]="two"\nDEST_MODULE_LOCATION[1]="/elsewhere"\nAUTOINSTALL="maybe"\n',
        }),
      );
      sameOutput('add', await pair.runNormalized(['add', 'bad/1.0']), 8);
    });

    it("prints bash's syntax error in a dkms.conf and judges what was set before it", async () => {
      const pair = newPair();
      const head = 'PACKAGE_NAME="syn"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="syn"\n';
      // the error cuts the conf short: no DEST_MODULE_LOCATION, a bad conf (8)
      pair.writeSource('syn', '1.0', {
        ...moduleSource('syn'),
        'dkms.conf': `${head}if [ x = x ; then\nDEST_MODULE_LOCATION[0]="/updates/dkms"\n`,
      });
      sameOutput('add', await pair.runNormalized(['add', 'syn/1.0']), 8);
      // everything was set before it: dkms goes on, bash's line on stderr
      pair.writeSource('late', '1.0', {
        ...moduleSource('late'),
        'dkms.conf': `${simpleConf('late', '1.0')}if true; then\n`,
      });
      sameOutput('add', await pair.runNormalized(['add', 'late/1.0']), 0);
      sameOutput('build', await pair.runNormalized(['build', 'late/1.0', '-k', K47]), 0);
    });

    it('warns about a conf with zero modules on add', async () => {
      const pair = newPair();
      pair.writeSource('zero', '1.0', {
        'dkms.conf': 'PACKAGE_NAME="zero"\nPACKAGE_VERSION="1.0"\n',
      });
      sameOutput('add', await pair.runNormalized(['add', 'zero/1.0']), 0);
    });

    it('prints a broken module in status and refuses to remove, uninstall or unbuild it (4)', async () => {
      const pair = newPair();
      for (const roots of pair.both()) {
        mkdirSync(join(roots.tree, 'gone', '1.0'), { recursive: true });
        symlinkSync(join(roots.src, 'gone-1.0'), join(roots.tree, 'gone', '1.0', 'source'));
      }
      sameOutput('status', await pair.runNormalized(['status']), 0);
      sameOutput('remove', await pair.runNormalized(['remove', 'gone/1.0']), 4);
      sameOutput('uninstall', await pair.runNormalized(['uninstall', 'gone/1.0', '-k', K47]), 4);
      sameOutput('unbuild', await pair.runNormalized(['unbuild', 'gone/1.0', '-k', K47]), 4);
    });

    it('adds and builds from a source directory', async () => {
      const pair = newPair();
      for (const roots of pair.both()) {
        const dir = join(roots.root, 'checkout');
        const { writeSource } = await import('./sources.js');
        writeSource(dir, moduleSource('fromdir', { 'dkms.conf': simpleConf('fromdir', '2.0') }));
      }
      const [up, ours] = pair.both().map((roots) => join(roots.root, 'checkout'));
      const out = await pair.runNormalizedEach(
        ['build', up ?? '', '-k', K47],
        ['build', ours ?? '', '-k', K47],
      );
      sameOutput('build DIR', out, 0);
    });

    it("autoinstalls in 3.4.3's order: passes, skips satisfy dependents, failures block them", async () => {
      const pair = newPair();
      const mod = (name: string, extra = ''): void =>
        pair.writeSource(
          name,
          '1.0',
          moduleSource(name, { 'dkms.conf': simpleConf(name, '1.0', extra) }),
        );
      mod('alpha', 'BUILD_DEPENDS=("zulu")\n');
      mod('bravo');
      mod('charlie', 'BUILD_DEPENDS=("fails")\n');
      mod('excl', 'BUILD_EXCLUSIVE_KERNEL="^5\\."\n');
      mod('golf', 'BUILD_DEPENDS=("excl")\n');
      mod('hotel', 'AUTOINSTALL="no"\n');
      mod('zulu');
      pair.writeSource(
        'fails',
        '1.0',
        moduleSource('fails', {
          'dkms.conf': simpleConf('fails', '1.0'),
          'fails.c': '#error no\n',
        }),
      );
      for (const m of ['alpha', 'bravo', 'charlie', 'excl', 'fails', 'golf', 'hotel', 'zulu'])
        sameOutput(`add ${m}`, await pair.runNormalized(['add', `${m}/1.0`]), 0);
      sameOutput('install bravo', await pair.runNormalized(['install', 'bravo/1.0', '-k', K47]), 0);
      const out = await pair.runNormalized(['autoinstall', '-k', K47]);
      sameOutput('autoinstall', out, 11);
      assert.match(
        out.ours.stdout,
        /^Autoinstall on \S+ succeeded for module\(s\) bravo zulu alpha\.$/m,
      );
    });
  },
);

// 3.4.3 only (the sid oracle, 3.2.2, calls this a failure): golden output from dkms.in.
describe('autoinstall defers modules whose BUILD_DEPENDS DKMS does not know', () => {
  it('prints the three deferred lines and exits 0', async () => {
    const roots = makeRoots([K47]);
    try {
      const { writeSource } = await import('./sources.js');
      writeSource(
        join(roots.src, 'waits-1.0'),
        moduleSource('waits', {
          'dkms.conf': simpleConf('waits', '1.0', 'BUILD_DEPENDS=("later")\n'),
        }),
      );
      assert.equal((await dkms(roots, ['add', 'waits/1.0'])).code, 0);
      const out = await dkms(roots, ['autoinstall', '-k', K47, '--no-depmod']);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(
        out.stdout,
        `waits/1.0 autoinstall deferred: BUILD_DEPENDS not registered with DKMS: later.\nAutoinstall on ${K47} deferred module(s) waits/1.0 due to BUILD_DEPENDS not yet registered with DKMS.\nThese may be provided externally or by a package not yet configured; autoinstall will retry on the next trigger.\n`,
      );
    } finally {
      roots.cleanup();
    }
  });
});

describe('os-release', () => {
  it('stops every command with exit 4 when there is none (dkms 3.4.3 distro_version)', async () => {
    const roots = makeRoots([]);
    try {
      for (const args of [['status'], ['--version']]) {
        const out = await dkms(roots, args, { DKMS_OS_RELEASE: join(roots.root, 'none') });
        assert.equal(out.code, 4);
        assert.equal(out.stdout, '');
        assert.equal(out.stderr, '\nError! System is missing os-release file.\n');
      }
    } finally {
      roots.cleanup();
    }
  });
});
