import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { ARCH, K47, dkms, makeRoots, skipWithoutHeaders, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, writeDaemonConfig } from '../daemon/helpers/dkmsdProcess.js';
import type { DoctorDocument } from '../../src/doctor/report.js';
import { copyRoots, dkmsRun, tracePoints } from './helpers/crash.js';

/*
 * What a killed `dkms install` leaves (a journal with steps left, a staging dir, a partial
 * copy in the install tree) is found by dkms doctor, repaired by dkms doctor --fix, and
 * repaired by dkmsd when it starts.
 */

const MODULE = { module: 'hello', version: '1.0' };
/** A pid no process has (above the kernel's pid_max default of 2^22). */
const DEAD = '9999999';

describe('recovery of what a killed install left', { skip: skipWithoutHeaders }, () => {
  let built: Roots;
  let beforeLink: string;

  before(async () => {
    built = makeRoots([K47]);
    built.addFixture('hello-1.0');
    assert.equal((await dkms(built, ['build', 'hello/1.0', '-k', K47])).code, 0);
    const measured = copyRoots(built, MODULE);
    const points = await tracePoints(measured, ['install', 'hello/1.0', '-k', K47]);
    measured.cleanup();
    beforeLink = String(points.indexOf('do:writeLink') + 1);
    assert.notEqual(beforeLink, '0', points.join(', '));
  });
  after(() => built.cleanup());

  /** A copy of the built sandbox after an install killed before its kernel link, plus litter. */
  async function interrupted(): Promise<{ roots: Roots; litter: string[] }> {
    const roots = copyRoots(built, MODULE);
    const killed = await dkmsRun(roots, ['install', 'hello/1.0', '-k', K47], {
      DKMS_TEST_CRASH_AT: beforeLink,
    });
    assert.equal(killed.signal, 'SIGKILL');
    const staging = join(roots.tree, 'hello/1.0', K47, `.tmp_${ARCH}_${DEAD}_abc`);
    mkdirSync(join(staging, 'log'), { recursive: true });
    const partial = join(roots.lib, K47, `updates/dkms/.other.ko.dkms-${DEAD}.tmp`);
    writeFileSync(partial, 'half a module');
    return { roots, litter: [staging, partial] };
  }

  function assertRecovered(roots: Roots, litter: string[]): void {
    assertTree(roots).installed('hello', '1.0', K47);
    assert.ok(!existsSync(join(roots.tree, 'hello/.dkms-journal')), 'the journal is finished');
    for (const path of litter) assert.ok(!existsSync(path), `${path} is removed`);
    assert.match(
      readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8'),
      /^updates\/dkms\/hello\.ko:/m,
      'the depmod the install owed ran',
    );
  }

  it('dkms doctor reports it, dkms doctor --fix repairs it', async () => {
    const { roots, litter } = await interrupted();
    try {
      const report = await dkms(roots, ['doctor', '-k', K47, '--json']);
      assert.equal(report.code, 1, report.stderr);
      const document = JSON.parse(report.stdout) as DoctorDocument;
      const problems = document.findings
        .filter((f) => f.severity !== 'ok' && f.severity !== 'info' && f.severity !== 'unknown')
        .map((f) => `${f.check} ${f.severity} ${f.module ?? f.file ?? ''}`);
      assert.ok(problems.includes('interrupted error hello'), problems.join('\n'));
      assert.ok(problems.includes('litter warning hello'), problems.join('\n'));
      assert.ok(problems.includes(`litter warning ${litter[1]}`), problems.join('\n'));

      const fixed = await dkms(roots, ['doctor', '-k', K47, '--fix']);
      assert.match(
        fixed.stdout,
        /^FIXED {3}hello: finished the interrupted install of hello\/1\.0/m,
      );
      assert.match(
        fixed.stdout,
        new RegExp(`^FIXED {3}removed ${litter[1]?.replace(/\./g, '\\.')}`, 'm'),
      );
      assertRecovered(roots, litter);
      const again = await dkms(roots, ['doctor', '-k', K47, '--json']);
      const after = JSON.parse(again.stdout) as DoctorDocument;
      assert.deepEqual(
        after.findings
          .filter((f) => f.check === 'interrupted' || f.check === 'litter')
          .map((f) => f.severity),
        ['ok', 'ok', 'ok'],
      );
    } finally {
      roots.cleanup();
    }
  });

  it('dkms doctor --fix runs depmod where modules.dep misses an installed module', async () => {
    const roots = copyRoots(built, MODULE);
    try {
      assert.equal((await dkms(roots, ['install', 'hello/1.0', '-k', K47])).code, 0);
      const dep = join(roots.lib, K47, 'modules.dep');
      writeFileSync(dep, readFileSync(dep, 'utf8').replace(/^updates\/dkms\/hello\.ko:.*\n/m, ''));
      const report = await dkms(roots, ['doctor', '-k', K47]);
      assert.equal(report.code, 1);
      assert.match(report.stdout, /\[modules-dep\]/);
      const fixed = await dkms(roots, ['doctor', '-k', K47, '--fix']);
      assert.match(fixed.stdout, new RegExp(`^FIXED {3}ran depmod for ${K47}`, 'm'));
      assert.match(readFileSync(dep, 'utf8'), /^updates\/dkms\/hello\.ko:/m);
      assert.doesNotMatch(fixed.stdout, /\[modules-dep\]/);
    } finally {
      roots.cleanup();
    }
  });

  it('dkmsd finishes it when it starts, before its catch-up', async () => {
    const { roots, litter } = await interrupted();
    const config = writeDaemonConfig(roots, {
      initramfs_command: '',
      udev_command: '',
      autoinstall_all_kernels: 'no',
    });
    // Not the running kernel: the catch-up itself leaves K47 alone, only recovery touches it.
    const daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: '6.0.0-elsewhere' });
    try {
      await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
      assertRecovered(roots, litter.slice(0, 1));
    } finally {
      await daemon.stop();
      roots.cleanup();
    }
  });
});
