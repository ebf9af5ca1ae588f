import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DkmsContext } from '../../src/core/context.js';
import { DkmsError, type DkmsErrorCode } from '../../src/core/errors.js';
import { FailureGate } from '../../src/daemon/failures/failureGate.js';
import type { FailureMemory } from '../../src/daemon/failures/failureMemory.js';
import type { KernelProbe } from '../../src/daemon/watch/kernelProbe.js';

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
