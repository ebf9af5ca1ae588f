import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import { planAutoinstall } from '../../src/engine/autoinstallPlan.js';
import { planKernelFinish } from '../../src/daemon/finish/finishPlan.js';
import { AFTER_INSTALL, type FinishStep } from '../../src/core/finishLedger.js';
import {
  detectInitramfs,
  resolveInitramfs,
  resolveUdev,
  shellCommand,
} from '../../src/daemon/finish/finishCommands.js';
import { forceModules } from '../../src/daemon/kernels/forceModules.js';
import { OutcomeCollector } from '../../src/daemon/kernels/outcomeCollector.js';
import { makeJobsFor } from '../../src/engine/queue/makeJobs.js';
import { diffKernels, type KernelProbe } from '../../src/daemon/watch/kernelProbe.js';
import { statusLine } from '../../src/daemon/statusLine.js';

const probe = (kernel: string, headers?: string): KernelProbe => ({
  kernel,
  headers,
  headersElsewhere: false,
});

describe('makeJobsFor: the make -j a build gets', () => {
  it('gives a lone big module every CPU and a lone one-file module one', () => {
    assert.equal(makeJobsFor({ cpus: 8, units: 200, busy: 0, companions: [] }), 8);
    assert.equal(makeJobsFor({ cpus: 8, units: 1, busy: 0, companions: [] }), 1);
  });
  it('shares the free CPUs by compile units among builds starting together', () => {
    assert.equal(makeJobsFor({ cpus: 8, units: 30, busy: 0, companions: [10] }), 6);
    assert.equal(makeJobsFor({ cpus: 8, units: 10, busy: 0, companions: [30] }), 2);
  });
  it('never goes below 1, even when running builds hold every CPU', () => {
    assert.equal(makeJobsFor({ cpus: 2, units: 50, busy: 4, companions: [] }), 1);
  });
  it('gives a big build what the finished small ones left', () => {
    assert.equal(makeJobsFor({ cpus: 8, units: 100, busy: 1, companions: [] }), 7);
  });
});

describe('planKernelFinish: what the finish ledger says is owed, once', () => {
  const argv = ['update-initramfs', '-u', '-k', 'K'];
  const udevadm = ['udevadm', 'trigger'];
  const base = {
    owed: [] as FinishStep[],
    kernelGone: false,
    isRunningKernel: true,
    initramfs: argv as string[] | 'disabled' | 'unavailable',
    udev: udevadm as string[] | 'disabled',
    stopping: false,
  };
  it('does nothing when nothing is owed, whatever this run installed', () => {
    const plan = planKernelFinish(base);
    assert.deepEqual(plan.depmod, { result: { status: 'not-needed' } });
    assert.deepEqual(plan.initramfs, { result: { status: 'not-needed' } });
    assert.deepEqual(plan.udev, { result: { status: 'not-needed' } });
  });
  it('runs each owed step; udev only for the running kernel (dropped for others)', () => {
    const other = planKernelFinish({ ...base, owed: AFTER_INSTALL, isRunningKernel: false });
    assert.deepEqual(other.depmod, { action: { kind: 'depmod' } });
    assert.deepEqual(other.initramfs, { action: { kind: 'initramfs', argv } });
    assert.deepEqual(other.udev, { result: { status: 'not-needed' }, drop: true });
    const running = planKernelFinish({ ...base, owed: AFTER_INSTALL, initramfs: 'disabled' });
    assert.deepEqual(running.initramfs, { result: { status: 'disabled' }, drop: true });
    assert.deepEqual(running.udev, { action: { kind: 'udev', argv: udevadm } });
  });
  it('only the owed steps: a replayed initramfs does not rerun depmod', () => {
    const plan = planKernelFinish({ ...base, owed: ['initramfs'] });
    assert.deepEqual(plan.depmod, { result: { status: 'not-needed' } });
    assert.deepEqual(plan.initramfs, { action: { kind: 'initramfs', argv } });
  });
  it('while stopping: depmod runs, the initramfs and udev stay owed', () => {
    const plan = planKernelFinish({ ...base, owed: AFTER_INSTALL, stopping: true });
    assert.deepEqual(plan.depmod, { action: { kind: 'depmod' } });
    assert.equal('result' in plan.initramfs && plan.initramfs.result.status, 'owed');
    assert.equal('drop' in plan.initramfs, false);
    assert.equal('result' in plan.udev && plan.udev.result.status, 'owed');
  });
  it('a kernel that is gone owes nothing any more', () => {
    const plan = planKernelFinish({ ...base, owed: AFTER_INSTALL, kernelGone: true });
    for (const step of [plan.depmod, plan.initramfs, plan.udev])
      assert.deepEqual(step, {
        result: { status: 'not-needed', message: 'the kernel is gone' },
        drop: true,
      });
  });
  it('drops an owed initramfs when this system has no tool for it', () => {
    const plan = planKernelFinish({ ...base, owed: ['initramfs'], initramfs: 'unavailable' });
    assert.equal('drop' in plan.initramfs && plan.initramfs.drop, true);
  });
});

describe('finish commands', () => {
  it('appends the kernel release to a configured command as its last argument', () => {
    assert.deepEqual(shellCommand('/usr/local/bin/mkinitrd --quiet').argv('6.1.0-50-amd64'), [
      '/bin/sh',
      '-c',
      '/usr/local/bin/mkinitrd --quiet "$1"',
      'dkmsd',
      '6.1.0-50-amd64',
    ]);
  });
  it('prefers update-initramfs, then dracut, then kernel-install', () => {
    const have =
      (...names: string[]) =>
      (name: string) =>
        names.includes(name) ? `/usr/sbin/${name}` : undefined;
    assert.deepEqual(detectInitramfs(have('update-initramfs', 'dracut'), '/boot')?.argv('K'), [
      'update-initramfs',
      '-u',
      '-k',
      'K',
    ]);
    assert.deepEqual(detectInitramfs(have('dracut', 'kernel-install'), '/boot')?.argv('K'), [
      'dracut',
      '--force',
      '--kver',
      'K',
    ]);
    assert.equal(
      detectInitramfs(have('kernel-install'), '/nonexistent-boot')?.argv('K'),
      undefined,
      'no image, no kernel-install',
    );
    assert.equal(detectInitramfs(have(), '/boot'), undefined);
  });
  it('looks for the initramfs tool again at each kernel: it may come with the first one', () => {
    const tools = new Set<string>(['kernel-install']);
    const find = (name: string) => (tools.has(name) ? `/usr/sbin/${name}` : undefined);
    const initramfs = resolveInitramfs({ kind: 'auto' }, find, '/nonexistent-boot');
    assert.equal(initramfs?.display, 'kernel-install add');
    assert.equal(initramfs?.argv('K'), undefined);
    tools.add('update-initramfs');
    assert.equal(initramfs?.display, 'update-initramfs -u -k');
    assert.deepEqual(initramfs?.argv('K'), ['update-initramfs', '-u', '-k', 'K']);
  });
  it('runs the built-in udevadm trigger without a kernel argument; empty disables', () => {
    assert.deepEqual(resolveUdev({ kind: 'auto' }, () => '/bin/udevadm')?.argv('K'), [
      'udevadm',
      'trigger',
    ]);
    assert.equal(
      resolveUdev({ kind: 'disabled' }, () => '/bin/udevadm'),
      undefined,
    );
  });
});

describe('diffKernels: what the watcher acts on', () => {
  it('finds kernels whose headers appeared, kernels that are gone, kernels waiting for headers', () => {
    const before = new Map([
      ['6.1.0-47-amd64', probe('6.1.0-47-amd64', '/l/6.1.0-47-amd64/build')],
      ['6.1.0-50-amd64', probe('6.1.0-50-amd64')],
      ['6.1.0-99-amd64', probe('6.1.0-99-amd64')],
    ]);
    const after = new Map([
      ['6.1.0-47-amd64', probe('6.1.0-47-amd64', '/l/6.1.0-47-amd64/build')],
      ['6.1.0-50-amd64', probe('6.1.0-50-amd64', '/l/6.1.0-50-amd64/build')],
      ['6.2.0-1-amd64', probe('6.2.0-1-amd64')],
    ]);
    const changes = diffKernels(before, after);
    assert.deepEqual(
      changes.buildable.map((p) => p.kernel),
      ['6.1.0-50-amd64'],
    );
    assert.deepEqual(changes.removed, ['6.1.0-99-amd64']);
    assert.deepEqual(changes.waitingForHeaders, ['6.2.0-1-amd64']);
    assert.deepEqual(changes.headersLost, []);
  });

  it('reports kernels whose headers went away while their directory stayed', () => {
    const before = new Map([
      ['6.1.0-53-amd64', probe('6.1.0-53-amd64', '/s/linux-headers-6.1.0-53-amd64')],
    ]);
    const after = new Map([['6.1.0-53-amd64', probe('6.1.0-53-amd64')]]);
    const changes = diffKernels(before, after);
    assert.deepEqual(changes.headersLost, ['6.1.0-53-amd64']);
    assert.deepEqual(changes.removed, []);
  });
});

describe('planning a kernel run', () => {
  const candidate = {
    module: 'manual',
    version: '1.0',
    installed: false,
    autoinstall: false,
    buildDepends: [],
  };
  it('module-added builds the named module even without AUTOINSTALL', () => {
    assert.deepEqual(planAutoinstall(forceModules([candidate], [])).jobs, []);
    assert.deepEqual(
      planAutoinstall(forceModules([candidate], [{ module: 'manual', version: '1.0' }])).jobs.map(
        (j) => j.module,
      ),
      ['manual'],
    );
  });

  it('collects one outcome per kernel over several plans', () => {
    const collector = new OutcomeCollector('K', 'x86_64');
    collector.addPlan(
      {
        jobs: [],
        alreadyInstalled: [{ module: 'a', version: '1' }],
        skipped: [{ module: 'o', version: '1', reason: 'OBSOLETE_BY' }],
        invalid: [],
        unsatisfied: [],
        deferred: [],
      },
      [],
    );
    collector.addResult({ ref: { module: 'b', version: '2' }, status: 'installed' });
    collector.addResult({
      ref: { module: 'c', version: '1' },
      status: 'failed',
      error: new DkmsError('BUILD_FAILED', 'Bad return status', {
        logPath: '/t/c/1/build/make.log',
      }),
    });
    // A later plan of the same run finds b installed and c remembered: b stays installed, c's news stays.
    collector.addPlan(
      {
        jobs: [],
        alreadyInstalled: [{ module: 'b', version: '2' }],
        skipped: [],
        invalid: [],
        unsatisfied: [],
        deferred: [],
      },
      [],
    );
    collector.addRemembered({
      module: 'c',
      version: '1',
      kernel: 'K',
      arch: 'x86_64',
      fingerprint: 'f',
      code: 'BUILD_FAILED',
      message: 'old',
      since: 'then',
    });
    const ran = { status: 'ran' as const };
    const outcome = collector.outcome(
      { depmod: ran, initramfs: ran, udev: { status: 'not-needed' } },
      false,
    );
    assert.equal(outcome.result, 'failed');
    assert.deepEqual(outcome.installed, [{ module: 'b', version: '2' }]);
    assert.deepEqual(outcome.alreadyInstalled, [{ module: 'a', version: '1' }]);
    assert.deepEqual(outcome.skipped, [{ module: 'o', version: '1', reason: 'OBSOLETE_BY' }]);
    assert.deepEqual(outcome.failed, [
      {
        module: 'c',
        version: '1',
        code: 'BUILD_FAILED',
        message: 'Bad return status',
        logPath: '/t/c/1/build/make.log',
        remembered: false,
      },
    ]);
  });
});

describe('OutcomeCollector: deferred modules (dkms 3.4.3)', () => {
  it('counts a module waiting on a dependency DKMS does not know as skipped, not failed', () => {
    const collector = new OutcomeCollector('K', 'x86_64');
    collector.addPlan(
      {
        jobs: [],
        alreadyInstalled: [],
        skipped: [],
        invalid: [],
        unsatisfied: [],
        deferred: [{ module: 'w', version: '1', missing: ['later'] }],
      },
      [],
    );
    const none = { status: 'not-needed' as const };
    const outcome = collector.outcome({ depmod: none, initramfs: none, udev: none }, false);
    assert.notEqual(outcome.result, 'failed');
    assert.deepEqual(outcome.failed, []);
    assert.deepEqual(outcome.skipped, [
      {
        module: 'w',
        version: '1',
        reason: 'w/1 autoinstall deferred: BUILD_DEPENDS not registered with DKMS: later.',
      },
    ]);
  });
});

describe('statusLine: what systemd shows', () => {
  it('names what is being built, or says it is idle', () => {
    const build = {
      request: {
        module: 'hello',
        version: '1.0',
        kernel: 'K',
        arch: 'x86_64',
        priority: 0,
        units: 1,
      },
      makeJobs: 1,
      jobserver: false,
      startedAt: new Date(),
    };
    assert.equal(statusLine([build], 2, 0), 'Building hello/1.0 for K (2 waiting)');
    assert.equal(statusLine([], 0, 0), 'Idle; all modules up to date');
    assert.match(statusLine([], 0, 1), /1 module build\(s\) failed/);
  });
});
