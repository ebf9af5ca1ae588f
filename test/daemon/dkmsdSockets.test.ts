import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { K47, dkmsdBin, makeRoots, run, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, dkmsd, writeDaemonConfig } from './helpers/dkmsdProcess.js';
import { flood, openRaw, type RawClient } from './helpers/rawClients.js';

const asRoot = process.getuid?.() === 0;
const line = (client: RawClient): string => client.received().split('\n')[0] ?? '';

/** Reply line `n` (from 0) on a raw connection, once there is one. */
async function nthLine(client: RawClient, n: number): Promise<string> {
  const lines = (): string[] => client.received().split('\n').slice(0, -1);
  for (let i = 0; i < 600 && lines().length <= n; i++) await sleep(50);
  return lines()[n] ?? '';
}

describe('dkmsd: two sockets, rights fixed when a connection is accepted', () => {
  let roots: Roots;
  let daemon: DkmsdProcess;
  let control: string;
  let status: string;

  before(async () => {
    roots = makeRoots([K47]);
    // The sockets' directory is the sandbox: others must be able to reach the status socket.
    chmodSync(roots.root, 0o755);
    const config = writeDaemonConfig(roots, { initramfs_command: '', udev_command: '' });
    control = config.socket;
    status = join(roots.root, 'dkmsd-status.sock');
    daemon = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
    await daemon.waitFor((r) => r.msg === 'catch-up finished', 'the catch-up');
  });
  after(async () => {
    await daemon.stop();
    roots.cleanup();
  });

  it('makes a control socket for root (0600) and a status socket for everyone (0666)', async () => {
    assert.equal(statSync(control).mode & 0o777, 0o600);
    assert.equal(statSync(status).mode & 0o777, 0o666);
    const json = await dkmsd(['status', '--json'], { DKMSD_SOCKET: control });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { socket: string; statusSocket: string };
    assert.deepEqual([parsed.socket, parsed.statusSocket], [control, status]);
    const refused = await dkmsd(['notify', 'rescan', '--socket', status]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NOT_PERMITTED: this connection can only ask for status/);
    assert.equal((await dkmsd(['notify', 'rescan', '--wait', '--socket', control])).code, 0);
  });

  it('a connection keeps the rights it got when accepted, whatever the mode becomes', async () => {
    /** A connection the daemon has surely accepted: it answered a first request. */
    const accepted = async (): Promise<RawClient> => {
      const client = await openRaw(control);
      client.socket.write('{"type":"status"}\n');
      assert.match(await nthLine(client, 0), /"type":"status"/);
      return client;
    };
    try {
      chmodSync(control, 0o666);
      const loose = await accepted();
      chmodSync(control, 0o600);
      loose.socket.write('{"type":"rescan"}\n');
      assert.match(await nthLine(loose, 1), /"code":"NOT_PERMITTED".*can only ask for status/);
      loose.socket.destroy();
      const tight = await accepted();
      chmodSync(control, 0o666);
      tight.socket.write('{"type":"rescan"}\n');
      assert.match(await nthLine(tight, 1), /"type":"accepted"/);
      tight.socket.destroy();
    } finally {
      chmodSync(control, 0o600);
    }
  });

  it(
    'another user reads status, cannot reach the control socket, is refused the rest',
    { skip: !asRoot && 'needs root' },
    async () => {
      const asNobody = (args: string[]) =>
        run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', dkmsdBin, ...args], {
          DKMSD_SOCKET: control,
        });
      const read = await asNobody(['status']);
      assert.equal(read.code, 0, read.stderr);
      assert.match(read.stdout, new RegExp(`pid ${daemon.pid}`));
      const unreachable = await asNobody(['notify', 'rescan']);
      assert.equal(unreachable.code, 3, unreachable.stderr);
      assert.match(unreachable.stderr, /EACCES/);
      const refused = await asNobody(['notify', 'rescan', '--socket', status]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /NOT_PERMITTED/);
    },
  );

  it('closes a connection that drips bytes without ever finishing a line', async () => {
    const drip = await openRaw(status);
    let open = true;
    void drip.closed.then(() => (open = false));
    while (open) {
      drip.socket.write('x');
      await Promise.race([sleep(200), drip.closed]);
    }
    assert.match(line(drip), /"code":"IDLE_TIMEOUT"/);
  });

  it('a line over the limit closes the connection without reading the rest', async () => {
    // (dkmsd.test.ts reads the TOO_LARGE reply; here the client is busy writing)
    const { written } = await flood(status, 100 * 1024 * 1024);
    assert.ok(written < 16 * 1024 * 1024, `the daemon took ${written} bytes before closing`);
    assert.equal((await dkmsd(['status', '--socket', status])).code, 0);
  });

  it('a client that sends more requests than it waits for is cut off', async () => {
    const greedy = await openRaw(status);
    greedy.socket.write('{"type":"status"}\n'.repeat(200));
    await greedy.closed;
    assert.match(greedy.received(), /"code":"TOO_LARGE".*more than 64 requests/);
  });

  it('idle clients never lock the hooks out: the oldest idle connection makes room', async () => {
    const idle = await Promise.all(Array.from({ length: 64 }, () => openRaw(control)));
    const crowd = await Promise.all(Array.from({ length: 100 }, () => openRaw(status)));
    const poke = await dkmsd(['notify', 'rescan', '--wait', '--socket', control]);
    assert.equal(poke.code, 0, poke.stderr);
    const look = await dkmsd(['status', '--socket', status]);
    assert.equal(look.code, 0, look.stderr);
    await idle[0]?.closed;
    assert.match(line(idle[0] as RawClient), /"code":"IDLE_TIMEOUT".*make room/);
    for (const client of [...idle, ...crowd]) client.socket.destroy();
  });
});
