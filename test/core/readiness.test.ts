import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReadinessRecord, type ReadinessRecord } from '../../src/core/readiness.js';

const record: ReadinessRecord = {
  schema: 'dkms-readiness',
  schemaVersion: 1,
  kernel: '6.1.0-50-amd64',
  arch: 'x86_64',
  state: 'missing-modules',
  policy: 'warn',
  updatedAt: '2026-11-30T08:00:00.000Z',
  writer: 'dkmsd',
  pid: 42,
  installed: ['hello/1.0'],
  missing: [
    { module: 'broken', version: '1.0', reason: 'failed', code: 'BUILD_FAILED', logPath: '/x' },
    { module: 'slow', version: '2.0', reason: 'building' },
  ],
  heldDefault: true,
};

describe('readiness record', () => {
  it('reads back what is written, optional fields absent or present', () => {
    assert.deepEqual(parseReadinessRecord(JSON.parse(JSON.stringify(record))), record);
    const { pid: _pid, heldDefault: _held, ...minimal } = record;
    assert.deepEqual(parseReadinessRecord({ ...minimal, missing: [] }), {
      ...minimal,
      missing: [],
    });
  });

  it('drops fields it does not know', () => {
    const parsed = parseReadinessRecord({
      ...record,
      extra: 1,
      missing: [{ module: 'm', version: '1', reason: 'interrupted', note: 'x' }],
    });
    assert.deepEqual(parsed, {
      ...record,
      missing: [{ module: 'm', version: '1', reason: 'interrupted' }],
    });
  });

  it('refuses anything else', () => {
    const broken: unknown[] = [
      null,
      [],
      'x',
      { ...record, schema: 'other' },
      { ...record, schemaVersion: 2 },
      { ...record, kernel: 5 },
      { ...record, state: 'done' },
      { ...record, policy: 'ignore' },
      { ...record, writer: 'someone' },
      { ...record, pid: '42' },
      { ...record, heldDefault: 'yes' },
      { ...record, installed: ['a', 1] },
      { ...record, missing: {} },
      { ...record, missing: [{ module: 'm', version: '1', reason: 'gone' }] },
      { ...record, missing: [{ module: 'm', reason: 'failed' }] },
      { ...record, missing: [{ module: 'm', version: '1', reason: 'failed', code: 3 }] },
    ];
    for (const value of broken) assert.equal(parseReadinessRecord(value), undefined);
  });
});
