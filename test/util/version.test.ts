import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bashRegexMatch, compareVersions } from '../../src/util/version.js';

describe('compareVersions (sort -V)', () => {
  it('orders kernel releases and module versions', () => {
    const sorted = [
      '6.1.0-50-amd64',
      '6.1.0-47-amd64',
      '5.10.0-9-amd64',
      '6.1.0-1',
      '6.1.0-47-cloud-amd64',
      '1.0~rc1',
      '1.0',
    ].sort(compareVersions);
    assert.deepEqual(sorted, [
      '1.0~rc1',
      '1.0',
      '5.10.0-9-amd64',
      '6.1.0-1',
      '6.1.0-47-amd64',
      '6.1.0-47-cloud-amd64',
      '6.1.0-50-amd64',
    ]);
    assert.equal(compareVersions('2.10', '2.9'), 1);
    assert.equal(compareVersions('1.0', '1.0'), 0);
  });
});

describe('bashRegexMatch', () => {
  it('matches unanchored ERE with POSIX classes', () => {
    assert.equal(bashRegexMatch('^6\\.1', '6.1.0-47-amd64'), true);
    assert.equal(bashRegexMatch('-50-', '6.1.0-47-amd64'), false);
    assert.equal(bashRegexMatch('^[[:digit:]]+\\.', '6.1'), true);
    assert.equal(bashRegexMatch('([', 'x'), false);
  });
});
