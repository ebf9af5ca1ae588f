import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from '../../src/commands/args.js';
import { DkmsError } from '../../src/core/errors.js';

describe('parseArgs', () => {
  it('accepts the action anywhere and both --opt=val and --opt val', () => {
    const a = parseArgs([
      '-k',
      '6.1.0-47-amd64/x86_64',
      '--dkmstree=/t',
      'install',
      '--sourcetree',
      '/s',
      'hello/1.0',
      '-k',
      '6.1.0-50-amd64',
    ]);
    assert.equal(a.action, 'install');
    assert.equal(a.module, 'hello');
    assert.equal(a.moduleVersion, '1.0');
    assert.deepEqual(a.kernels, ['6.1.0-47-amd64', '6.1.0-50-amd64']);
    assert.deepEqual(a.arches, ['x86_64']);
    assert.equal(a.dkmsTree, '/t');
    assert.equal(a.sourceTree, '/s');
  });

  it('takes -m m/v, -v, --directive, -j and flags', () => {
    const a = parseArgs([
      'build',
      '-m',
      'foo',
      '-v',
      '2',
      '--directive',
      'AUTOINSTALL=no',
      '-j',
      '3',
      '--force',
      '--no-depmod',
      '-q',
    ]);
    assert.equal(a.module, 'foo');
    assert.equal(a.moduleVersion, '2');
    assert.deepEqual(a.directives, ['AUTOINSTALL=no']);
    assert.equal(a.jobs, 3);
    assert.ok(a.force && a.noDepmod && a.quiet);
  });

  it('takes --dry-run only where a plan is printed and --fix only for doctor', () => {
    assert.ok(parseArgs(['remove', 'hello/1.0', '--all', '--dry-run']).dryRun);
    assert.ok(parseArgs(['doctor', '--fix']).fix);
    for (const argv of [
      ['build', 'hello/1.0', '--dry-run'],
      ['add', 'hello/1.0', '--dry-run'],
      ['status', '--fix'],
    ])
      assert.throws(
        () => parseArgs(argv),
        (e: unknown) => e instanceof DkmsError && e.code === 'USAGE',
        argv.join(' '),
      );
  });

  it('rejects unknown options with exit 2 and two actions with exit 4', () => {
    assert.throws(
      () => parseArgs(['status', '--bogus']),
      (e: unknown) => e instanceof DkmsError && e.exitCode === 2,
    );
    assert.throws(
      () => parseArgs(['status', 'build']),
      (e: unknown) => e instanceof DkmsError && e.exitCode === 4,
    );
  });

  it('warns about deprecated options instead of failing', () => {
    const a = parseArgs(['status', '--no-prepare-kernel']);
    assert.match(a.warnings.join(), /no-prepare-kernel/);
  });
});

describe('parseArgs prefixes', () => {
  it('reads --archive as the archive, not as --arch', () => {
    assert.equal(parseArgs(['mktarball', '--archive', '/x.tgz']).archive, '/x.tgz');
    assert.equal(parseArgs(['mktarball', '--archive=/y.tgz']).archive, '/y.tgz');
    assert.deepEqual(parseArgs(['build', '--arch', 'x86_64']).arches, ['x86_64']);
  });
});
