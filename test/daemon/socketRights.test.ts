import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { statusSocketFor } from '../../src/daemon/config/daemonConfig.js';
import { passedListeners, rightsAtAccept } from '../../src/daemon/server/socketRights.js';

describe('socket rights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dkmsd-rights.'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const configured = { control: '/run/dkms/dkmsd.sock', status: '/run/dkms/dkmsd-status.sock' };

  it('puts the status socket beside the control socket', () => {
    assert.equal(statusSocketFor('/run/dkms/dkmsd.sock'), '/run/dkms/dkmsd-status.sock');
  });

  it('names passed sockets by FileDescriptorName=, then by path; unknown ones read only', () => {
    const paths: Record<number, string> = { 3: '/x/a.sock', 4: '/x/b.sock', 5: configured.control };
    const listeners = passedListeners(
      [
        { fd: 3, name: 'status' },
        { fd: 4, name: 'control' },
        { fd: 5, name: undefined },
        { fd: 6, name: 'dkmsd.socket' },
      ],
      configured,
      (fd) => paths[fd],
    );
    assert.deepEqual(
      listeners.map((l) => [l.fd, l.rights, l.path]),
      [
        [3, 'status', '/x/a.sock'],
        [4, 'control', '/x/b.sock'],
        [5, 'control', configured.control],
        [6, 'status', configured.status],
      ],
    );
  });

  it('grants control only while the control socket (or its directory) is private', () => {
    const uid = process.getuid?.();
    const socket = join(dir, 'control.sock');
    writeFileSync(socket, '');
    chmodSync(dir, 0o755);
    chmodSync(socket, 0o600);
    assert.deepEqual(rightsAtAccept({ rights: 'control', path: socket }, uid), {
      rights: 'control',
    });
    chmodSync(socket, 0o666);
    const loose = rightsAtAccept({ rights: 'control', path: socket }, uid);
    assert.equal(loose.rights, 'status');
    assert.match(loose.warning ?? '', /can be reached by other users/);
    const privateDir = join(dir, 'private');
    mkdirSync(privateDir, { mode: 0o700 });
    const inside = join(privateDir, 'control.sock');
    writeFileSync(inside, '', { mode: 0o666 });
    chmodSync(inside, 0o666);
    assert.equal(rightsAtAccept({ rights: 'control', path: inside }, uid).rights, 'control');
    assert.equal(rightsAtAccept({ rights: 'status', path: socket }, uid).rights, 'status');
  });
});
