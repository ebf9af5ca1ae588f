import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import { buildFinishedRecord, kernelFinishedRecord } from '../../src/daemon/eventRecords.js';
import type { StartedBuild } from '../../src/engine/queue/buildQueue.js';

const ref = { module: 'hello', version: '1.0' };
const build: StartedBuild = {
  request: { ...ref, kernel: '6.1.0-50-amd64', arch: 'x86_64', priority: 0, units: 1 },
  makeJobs: 2,
  jobserver: true,
  startedAt: new Date(0),
};

describe('dkmsd event records', () => {
  it('logs a failed build as an error with its code, log and output, a cancelled one as a warning', () => {
    const error = new DkmsError('BUILD_FAILED', 'Bad return status', { logPath: '/x/make.log' });
    const failed = buildFinishedRecord(
      build,
      { ref, status: 'failed', error, output: ['cc: error'] },
      1200,
    );
    assert.equal(failed.level, 'error');
    assert.deepEqual(failed.record, {
      module: 'hello',
      version: '1.0',
      kernel: '6.1.0-50-amd64',
      arch: 'x86_64',
      status: 'failed',
      durationMs: 1200,
      code: 'BUILD_FAILED',
      message: 'Bad return status',
      logPath: '/x/make.log',
      output: ['cc: error'],
    });
    const cancelled = new DkmsError('ABORTED', 'stopped');
    assert.equal(
      buildFinishedRecord(build, { ref, status: 'failed', error: cancelled }, 1).level,
      'warn',
    );
    const installed = buildFinishedRecord(build, { ref, status: 'installed' }, 5);
    assert.equal(installed.level, 'info');
    assert.equal('code' in installed.record, false);
  });

  it('names modules as m/v in the kernel record', () => {
    const record = kernelFinishedRecord({
      kernel: '6.1.0-50-amd64',
      arch: 'x86_64',
      result: 'failed',
      installed: [ref],
      alreadyInstalled: [],
      skipped: [{ module: 'old', version: '2', reason: 'BUILD_EXCLUSIVE' }],
      failed: [
        {
          module: 'bad',
          version: '3',
          code: 'BUILD_FAILED',
          message: 'm',
          logPath: '/l',
          remembered: true,
        },
      ],
      broken: [],
      depmod: { status: 'ran' },
      initramfs: { status: 'disabled' },
      udev: { status: 'not-needed' },
      startedAt: '',
      finishedAt: '',
    });
    assert.deepEqual(record['installed'], ['hello/1.0']);
    assert.deepEqual(record['skipped'], ['old/2']);
    assert.deepEqual(record['failed'], [
      { module: 'bad/3', code: 'BUILD_FAILED', logPath: '/l', remembered: true },
    ]);
    assert.equal(record['depmod'], 'ran');
  });
});
