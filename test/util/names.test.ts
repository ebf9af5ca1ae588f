import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  isKernelRelease,
  isModuleWord,
  kernelReleaseProblem,
  moduleWordProblem,
  relativePathProblem,
} from '../../src/util/names.js';
import { repoRoot } from '../helpers/roots.js';

describe('names: the one rule for what becomes a path component', () => {
  it('accepts real module names, versions and kernel releases', () => {
    for (const word of [
      'nvidia-current',
      '1.0~rc1+git20240101',
      '2.1.11-1',
      'r8168',
      '8.051.02_Debian',
      'x86_64',
      'ia32e',
    ])
      assert.equal(moduleWordProblem(word), undefined, word);
    for (const kernel of [
      '6.1.0-47-amd64',
      '6.12.0-0.rc3.fc42.x86_64+debug',
      '5.15.0-1008-raspi',
      '6.6.7-arch1-1',
    ])
      assert.equal(kernelReleaseProblem(kernel), undefined, kernel);
  });

  it('refuses what would leave a directory or be taken for an option, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['..', /"\.\."/],
      ['a/b', /"\/"/],
      ['1.0..2', /"\.\."/],
      ['-rf', /start with/],
      ['.hidden', /start with/],
      ['a b', /whitespace/],
      ['a\nb', /whitespace/],
      ['a\0b', /characters other than/],
      ['x'.repeat(201), /longer than/],
    ];
    for (const [word, why] of cases) {
      assert.match(moduleWordProblem(word) ?? '', why, JSON.stringify(word));
      assert.equal(isModuleWord(word), false);
    }
    assert.match(kernelReleaseProblem('amd64') ?? '', /start with a digit/);
    assert.equal(isKernelRelease('../../etc'), false);
  });

  it('relative locations may not climb out of their directory', () => {
    assert.equal(relativePathProblem('src/'), undefined);
    assert.equal(relativePathProblem('/updates/dkms'), undefined);
    assert.match(relativePathProblem('a/../../b') ?? '', /\.\./);
    assert.match(relativePathProblem('..') ?? '', /\.\./);
    assert.match(relativePathProblem('a\0') ?? '', /NUL/);
  });
});

const SAMPLES = [
  '6.1.0-47-amd64',
  '6.12.7+deb13-cloud-amd64',
  '5.14.0-427.13.1.el9_4.x86_64',
  '6.9.3-arch1-1',
  '6.1~rc1',
  '',
  '.',
  '..',
  '../../etc',
  '6/1',
  '6..1',
  '6.1 0',
  '6.1\t0',
  'linux',
  '-6.1',
  '6.1$x',
  '6.1;reboot',
  "6.1'",
  '6.1é',
  `6.${'1'.repeat(198)}`,
  `6.${'1'.repeat(199)}`,
];

/** What the hooks' shell library says of each value: its problem, or '' for a valid one. */
function hookProblems(values: string[]): string[] {
  const lib = join(repoRoot, 'hooks', 'lib', 'dkms-hook-lib.sh');
  const out = execFileSync(
    'sh',
    [
      '-c',
      'dkms_hook_lib=$0; . "$dkms_hook_lib"; for k in "$@"; do printf "%s\\0" "$(dkms_hook_kver_problem "$k")"; done',
      lib,
      ...values,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\0').slice(0, -1);
}

describe('one rule for kernel releases: the code and the hooks agree', () => {
  it('accepts and refuses the same values', () => {
    const problems = hookProblems(SAMPLES);
    SAMPLES.forEach((value, i) => {
      assert.equal(
        problems[i] === '',
        isKernelRelease(value),
        `${JSON.stringify(value)}: hooks say "${problems[i]}"`,
      );
    });
  });
});
