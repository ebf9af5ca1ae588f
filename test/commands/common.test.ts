import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inStatusOrder } from '../../src/commands/common.js';

describe('--all visits builds as `module_status_built | sort -V` lists them', () => {
  it('built before installed, kernels in version order', () => {
    const build = (
      kernel: string,
    ): { module: string; version: string; kernel: string; arch: string } => ({
      module: 'hello',
      version: '1.0',
      kernel,
      arch: 'x86_64',
    });
    const builds = ['6.1.0-9-amd64', '6.1.0-10-amd64', '6.1.0-47-amd64', '6.10.0-1-amd64'].map(
      build,
    );
    const installed = new Set(['6.1.0-9-amd64']);
    const order = inStatusOrder(builds, (b) => installed.has(b.kernel)).map((b) => b.kernel);
    assert.deepEqual(order, [
      '6.1.0-10-amd64',
      '6.1.0-47-amd64',
      '6.10.0-1-amd64',
      '6.1.0-9-amd64',
    ]);
  });
});
