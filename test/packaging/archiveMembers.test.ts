import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseTarListing,
  unsafeMembers,
  type ArchiveMember,
} from '../../src/packaging/archiveMembers.js';

const file = (name: string): ArchiveMember => ({ name, type: '-' });
const dir = (name: string): ArchiveMember => ({ name, type: 'd' });
const symlink = (name: string, linkTarget: string): ArchiveMember => ({
  name,
  type: 'l',
  linkTarget,
});

describe('parseTarListing', () => {
  it('pairs names with types and link targets, names with " -> " included', () => {
    const names = ['./', './a/b/up', './a/with space -> x', './a/hard', './dev', ''].join('\n');
    const verbose = [
      'drwxr-xr-x root/root         0 2024-01-01 00:00 ./',
      'lrwxrwxrwx root/root         0 2024-01-01 00:00 ./a/b/up -> ../../x',
      '-rw-r--r-- root/root         7 2024-01-01 00:00 ./a/with space -> x',
      'hrw-r--r-- root/root         0 2024-01-01 00:00 ./a/hard link to ./a/b/f',
      'crw-r--r-- 0/0             0,0 1970-01-01 00:00 ./dev',
      '',
    ].join('\n');
    assert.deepEqual(parseTarListing(names, verbose), [
      { name: './', type: 'd' },
      { name: './a/b/up', type: 'l', linkTarget: '../../x' },
      { name: './a/with space -> x', type: '-' },
      { name: './a/hard', type: 'h', linkTarget: './a/b/f' },
      { name: './dev', type: 'c' },
    ]);
  });

  it('gives up when the two listings disagree', () => {
    assert.equal(parseTarListing('a\nb\n', '-rw-r--r-- u/g 1 2024-01-01 00:00 a\n'), undefined);
    assert.equal(parseTarListing('a\n', '-rw-r--r-- u/g 1 2024-01-01 00:00 b\n'), undefined);
  });
});

describe('unsafeMembers', () => {
  it('accepts what mktarball makes', () => {
    assert.deepEqual(
      unsafeMembers([
        dir('./'),
        dir('./dkms_main_tree/6.1.0-47-amd64/x86_64/module/'),
        file('./dkms_main_tree/6.1.0-47-amd64/x86_64/module/hello.ko'),
        file('./dkms_source_tree/dkms.conf'),
        symlink('./dkms_source_tree/include/compat.h', '../compat/compat.h'),
        { name: './dkms_source_tree/copy.h', type: 'h', linkTarget: './dkms_source_tree/a.h' },
      ]),
      [],
    );
  });

  it('refuses absolute names, .. members and special files', () => {
    const reasons = unsafeMembers([
      file('../../evil'),
      file('/etc/cron.d/evil'),
      file('a/../../b'),
      { name: 'dev', type: 'c' },
      file('ok/..x'),
    ]);
    assert.deepEqual(reasons, [
      "../../evil: it contains '..'",
      '/etc/cron.d/evil: it is an absolute path',
      "a/../../b: it contains '..'",
      "dev: it is a special file (type 'c')",
    ]);
  });

  it('refuses links that lead outside, directly or through other links', () => {
    const reasons = unsafeMembers([
      symlink('src/abs', '/etc'),
      symlink('src/up', '../..'),
      symlink('src/self', '.'),
      symlink('src/chain', 'self/../..'),
      file('src/up/evil'),
      { name: 'src/hard', type: 'h', linkTarget: '../etc/passwd' },
      { name: 'src/hard2', type: 'h', linkTarget: 'src/up/etc/passwd' },
    ]);
    assert.equal(reasons.length, 6, reasons.join('\n'));
    assert.match(reasons[0] ?? '', /^src\/abs: .*symlink leading outside/);
    assert.match(reasons[1] ?? '', /^src\/up: /);
    assert.match(reasons[2] ?? '', /^src\/chain: /);
    assert.match(reasons[3] ?? '', /^src\/up\/evil: its directory is a symlink/);
    assert.match(reasons[4] ?? '', /^src\/hard: .*hard link/);
    assert.match(reasons[5] ?? '', /^src\/hard2: .*hard link/);
  });
});
