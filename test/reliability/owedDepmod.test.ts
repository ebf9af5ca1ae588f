import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AFTER_INSTALL, listOwed, markOwed, owedSteps } from '../../src/core/finishLedger.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  dkms as dkmsIn,
  dkmsBin,
  haveHeaders,
  makeRoots,
  type Roots,
} from '../helpers/roots.js';
import { faultyDepmod, killGroup, spawnGroup, untilExists } from './helpers/faultTools.js';

const K = { kernel: K47, arch: ARCH };
/** K47 is the running kernel here (a udev trigger is owed to the running kernel only). */
const RUNNING = { DKMS_RUNNING_KERNEL: K47 };
const dkms = (roots: Roots, args: string[], env: NodeJS.ProcessEnv = {}) =>
  dkmsIn(roots, args, { ...RUNNING, ...env });
const modulesDep = (roots: Roots): string => {
  const path = join(roots.lib, K47, 'modules.dep');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};

describe(
  'dkms: depmod is owed until it succeeded',
  { skip: !haveHeaders(K47) && 'no headers' },
  () => {
    let roots: Roots;
    before(async () => {
      roots = makeRoots([K47]);
      roots.addFixture('hello-1.0');
      assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
    });
    after(() => roots.cleanup());

    it('an install leaves only the initramfs and udev owed, for dkmsd', async () => {
      const other = await dkms(roots, ['install', 'hello/1.0', '-k', K47], {
        DKMS_RUNNING_KERNEL: '6.0.0-1-other',
      });
      assert.equal(other.code, 0, other.stderr);
      assert.deepEqual(owedSteps(roots.tree, K), ['initramfs'], 'no udev: not the running kernel');
      assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);
      const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
      assert.equal(install.code, 0, install.stderr);
      assert.deepEqual(owedSteps(roots.tree, K), ['initramfs', 'udev']);
      assert.match(modulesDep(roots), /^updates\/dkms\/hello\.ko:/m);
      const uninstall = await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47]);
      assert.equal(uninstall.code, 0, uninstall.stderr);
      assert.deepEqual(owedSteps(roots.tree, K), ['initramfs', 'udev']);
    });

    it('--no-depmod owes no depmod: the caller runs it', async () => {
      const install = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '--no-depmod']);
      assert.equal(install.code, 0, install.stderr);
      assert.ok(!owedSteps(roots.tree, K).includes('depmod'));
      assert.equal((await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47])).code, 0);
    });

    it('killed during depmod: the next dkms command for that kernel runs it', async () => {
      const fault = faultyDepmod(roots.root, 'hang');
      const cli = spawnGroup(dkmsBin, ['install', 'hello/1.0', '-k', K47, ...roots.treeArgs], {
        PATH: `${fault.dir}:${process.env['PATH'] ?? ''}`,
        DKMS_OS_RELEASE: '/etc/os-release',
      });
      await untilExists(fault.started);
      await killGroup(cli);
      assertTree(roots).installed('hello', '1.0', K47);
      assert.doesNotMatch(
        modulesDep(roots),
        /hello\.ko/,
        'the hole: installed, not in modules.dep',
      );
      assert.ok(owedSteps(roots.tree, K).includes('depmod'), 'depmod is owed');
      // Nothing to install any more, but the kernel is owed a depmod: it runs.
      const again = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already installed/);
      assert.match(modulesDep(roots), /^updates\/dkms\/hello\.ko:/m);
      assert.ok(!owedSteps(roots.tree, K).includes('depmod'));
    });

    it('a failing depmod stays owed and is paid by the next command', async () => {
      const fault = faultyDepmod(roots.root, 'fail');
      const failing = await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47], {
        PATH: `${fault.dir}:${process.env['PATH'] ?? ''}`,
      });
      assert.match(failing.stderr, /injected failure/);
      assertTree(roots).notInstalled('hello', K47);
      assert.match(modulesDep(roots), /hello\.ko/, 'modules.dep still names the removed module');
      assert.deepEqual(
        listOwed(roots.tree).map((owed) => owed.steps),
        [['depmod', 'initramfs', 'udev']],
      );
      const status = await dkms(roots, ['uninstall', 'hello/1.0', '-k', K47]);
      assert.equal(status.code, 0, status.stderr);
      assert.doesNotMatch(modulesDep(roots), /hello\.ko/);
      assert.ok(!owedSteps(roots.tree, K).includes('depmod'));
    });

    it('a kernel whose module directory is gone owes nothing any more', async () => {
      const gone = { kernel: '6.0.0-99-gone', arch: ARCH };
      await markOwed(roots.tree, gone, AFTER_INSTALL);
      const uninstall = await dkms(roots, ['uninstall', 'hello/1.0', '-k', gone.kernel]);
      assert.equal(uninstall.code, 0, uninstall.stderr);
      assert.deepEqual(owedSteps(roots.tree, gone), []);
    });
  },
);
