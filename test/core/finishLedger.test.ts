import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AFTER_INSTALL,
  AFTER_UNINSTALL,
  dropOwed,
  listOwed,
  markOwed,
  owedSteps,
  payDepmod,
  payOwed,
} from '../../src/core/finishLedger.js';

const K = { kernel: '6.1.0-50-amd64', arch: 'x86_64' };

describe('the finish ledger', () => {
  let tree: string;
  before(() => {
    tree = mkdtempSync(join(tmpdir(), 'dkms-ledger.'));
  });
  after(() => rmSync(tree, { recursive: true, force: true }));

  it('keeps one file per owed step, named as dkms 3.4 names its depmod marker', async () => {
    await markOwed(tree, K, AFTER_INSTALL);
    assert.deepEqual(readdirSync(tree).sort(), [
      'depmod-pending-6.1.0-50-amd64-x86_64',
      'initramfs-pending-6.1.0-50-amd64-x86_64',
      'udev-pending-6.1.0-50-amd64-x86_64',
    ]);
    assert.deepEqual(owedSteps(tree, K), ['depmod', 'initramfs', 'udev']);
    assert.deepEqual(listOwed(tree), [{ ...K, steps: ['depmod', 'initramfs', 'udev'] }]);
    await dropOwed(tree, K, ['depmod', 'initramfs', 'udev']);
    assert.deepEqual(listOwed(tree), []);
  });

  it('an uninstall owes depmod and the initramfs, no udev trigger', () => {
    assert.deepEqual([...AFTER_UNINSTALL], ['depmod', 'initramfs']);
  });

  it("counts upstream dkms's empty marker as owed", async () => {
    writeFileSync(join(tree, `depmod-pending-${K.kernel}-${K.arch}`), '');
    assert.deepEqual(owedSteps(tree, K), ['depmod']);
    let runs = 0;
    const paid = await payOwed(tree, K, 'depmod', () => Promise.resolve(++runs > 0));
    assert.equal(paid, 'paid');
    assert.equal(runs, 1);
    assert.deepEqual(owedSteps(tree, K), []);
  });

  it('runs nothing when nothing is owed', async () => {
    let runs = 0;
    const result = await payOwed(tree, K, 'initramfs', () => Promise.resolve(++runs > 0));
    assert.equal(result, 'not-owed');
    assert.equal(runs, 0);
  });

  it('keeps a step owed when it fails or throws', async () => {
    await markOwed(tree, K, ['depmod']);
    assert.equal(await payOwed(tree, K, 'depmod', () => Promise.resolve(false)), 'failed');
    await assert.rejects(
      payOwed(tree, K, 'depmod', () => Promise.reject(new Error('depmod died'))),
      /depmod died/,
    );
    assert.deepEqual(owedSteps(tree, K), ['depmod']);
    await dropOwed(tree, K, ['depmod']);
  });

  it('a step that ran while the kernel changed again stays owed', async () => {
    await markOwed(tree, K, ['initramfs']);
    const result = await payOwed(tree, K, 'initramfs', async () => {
      await markOwed(tree, K, ['initramfs']);
      return true;
    });
    assert.equal(result, 'owed-again');
    assert.deepEqual(owedSteps(tree, K), ['initramfs']);
    assert.equal(await payOwed(tree, K, 'initramfs', () => Promise.resolve(true)), 'paid');
  });

  it('exclusive: a mark waits for the running step, and is not lost', async () => {
    await markOwed(tree, K, ['depmod']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const paying = payOwed(
      tree,
      K,
      'depmod',
      async () => {
        started();
        await gate;
        return true;
      },
      { exclusive: true },
    );
    await running;
    const marking = markOwed(tree, K, ['depmod']);
    release();
    assert.equal(await paying, 'paid');
    await marking;
    assert.deepEqual(owedSteps(tree, K), ['depmod'], 'the later mark is still owed');
    // Two exclusive payers in a row: the second finds nothing to do.
    const first = payOwed(tree, K, 'depmod', () => Promise.resolve(true), { exclusive: true });
    const second = payOwed(tree, K, 'depmod', () => Promise.resolve(true), { exclusive: true });
    assert.deepEqual(await Promise.all([first, second]), ['paid', 'not-owed']);
  });

  it('depmod is one per kernel: it clears every arch, and marks made meanwhile stay', async () => {
    const other = { kernel: K.kernel, arch: 'i686' };
    await markOwed(tree, K, ['depmod']);
    await markOwed(tree, other, ['depmod']);
    assert.equal(await payDepmod(tree, K.kernel, () => Promise.resolve(true)), 'paid');
    assert.deepEqual([owedSteps(tree, K), owedSteps(tree, other)], [[], []]);
    let runs = 0;
    const skipped = await payDepmod(tree, K.kernel, () => Promise.resolve(++runs > 0), {
      onlyIfOwed: true,
    });
    assert.deepEqual([skipped, runs], ['not-owed', 0]);
    await markOwed(tree, K, ['depmod']);
    let marking: Promise<void> = Promise.resolve();
    const paying = payDepmod(tree, K.kernel, () => {
      // an install marks the kernel while depmod runs: it waits, and stays owed
      marking = markOwed(tree, K, ['depmod']);
      return Promise.resolve(true);
    });
    assert.equal(await paying, 'paid');
    await marking;
    assert.deepEqual(owedSteps(tree, K), ['depmod']);
    await dropOwed(tree, K, ['depmod']);
  });

  it('ignores other files of the dkms tree', () => {
    writeFileSync(join(tree, '.dkmsd-failures.json'), '{}');
    writeFileSync(join(tree, 'depmod-pending-'), '');
    assert.deepEqual(listOwed(tree), []);
  });
});
