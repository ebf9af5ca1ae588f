import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createContext, type DkmsContext } from '../../src/core/context.js';
import { DkmsError, type DkmsErrorCode } from '../../src/core/errors.js';
import { MemoryReporter } from '../../src/core/host.js';
import { defaultPaths } from '../../src/core/paths.js';
import { FailureGate } from '../../src/daemon/failures/failureGate.js';
import { FailureMemory } from '../../src/daemon/failures/failureMemory.js';
import { probeKernel, type KernelProbe } from '../../src/daemon/watch/kernelProbe.js';
import { fakeHeaders } from '../helpers/fakeHeaders.js';

const K = '6.1.0-99-amd64';
const job = { module: 'hello', version: '1.0', after: [] };
const failed = {
  ref: { module: 'hello', version: '1.0' },
  status: 'failed' as const,
  error: new DkmsError('BUILD_FAILED', 'Bad return status'),
};

describe('remembered failures and the headers they were built against', () => {
  const root = mkdtempSync(join(tmpdir(), 'dkmsd-gate.'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const installTree = join(root, 'lib', 'modules');
  const ctx = createContext({
    paths: {
      ...defaultPaths(),
      dkmsTree: join(root, 'tree'),
      sourceTree: join(root, 'src'),
      installTree,
      confDir: join(root, 'etc'),
    },
    framework: {},
    parallelJobs: 1,
    reporter: new MemoryReporter(),
  });
  const build = join(installTree, K, 'build');
  const probe = () => probeKernel(installTree, join(root, 'src'), K);
  const options = { retry: false, forced: [] };

  it('forgets a failure once the headers tree changed anywhere', () => {
    fakeHeaders(build, ['Makefile', 'include', 'auto.conf', 'scripts']);
    const memory = new FailureMemory(join(root, 'failures.json'), () => undefined);
    const gate = new FailureGate(memory, ctx, 'x86_64');
    gate.record(probe(), job, failed);
    assert.equal(gate.partition(probe(), [job], options).remembered.length, 1);
    // a header the build needed arrives late (its package was still being unpacked)
    writeFileSync(join(build, 'include', 'generated', 'autoconf.h'), '');
    const again = gate.partition(probe(), [job], options);
    assert.deepEqual([again.jobs.length, again.remembered.length], [1, 0]);
  });

  it('does not remember a failure against headers that were not whole', () => {
    const memory = new FailureMemory(join(root, 'failures2.json'), () => undefined);
    const gate = new FailureGate(memory, ctx, 'x86_64');
    const whole = probe();
    rmSync(join(build, 'scripts'), { recursive: true });
    gate.record(whole, job, failed);
    assert.deepEqual(memory.list(), []);
  });
});

describe('FailureGate', () => {
  it('does not remember failures of the machine (full disk, read-only, permissions, locks)', () => {
    const remembered: string[] = [];
    const memory = {
      remember: (record: { code: string }) => remembered.push(record.code),
      forget: () => undefined,
    } as unknown as FailureMemory;
    const gate = new FailureGate(memory, {} as DkmsContext, 'x86_64');
    const probe = { kernel: '6.1.0-47-amd64' } as KernelProbe;
    const codes: DkmsErrorCode[] = [
      'NO_SPACE',
      'READ_ONLY',
      'PERMISSION_DENIED',
      'LOCKED',
      'ABORTED',
    ];
    for (const code of codes) {
      gate.record(
        probe,
        { module: 'hello', version: '1.0' },
        {
          ref: { module: 'hello', version: '1.0' },
          status: 'failed',
          error: new DkmsError(code, 'no'),
        },
      );
    }
    assert.deepEqual(remembered, []);
  });
});
