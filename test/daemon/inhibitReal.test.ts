import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ShutdownInhibitor } from '../../src/daemon/systemd/inhibitor.js';
import { run } from '../helpers/roots.js';

/**
 * The real systemd-inhibit, asking the real logind: only where systemd runs the system and
 * this process may take a lock (the systemd container of test/system, a real machine).
 * Elsewhere it says why it is skipped.
 */
const probe = await run('systemd-inhibit', [
  '--what=sleep',
  '--mode=delay',
  '--who=dkms-ts test',
  '--why=probe',
  'true',
]);
const skip =
  probe.code !== 0 &&
  `no systemd-logind lock to take here (systemd-inhibit: ${probe.stderr.trim() || `exit ${probe.code}`}); test/system runs dkmsd under systemd`;

const locksOf = async (who: string): Promise<string[]> =>
  (await run('systemd-inhibit', ['--list', '--no-pager', '--no-legend']).then((r) => r.stdout))
    .split('\n')
    .filter((line) => line.includes(who));

describe('dkmsd takes a real systemd delay lock on shutdown and sleep', { skip }, () => {
  it('holds it while building for another kernel and frees it at the end', async () => {
    const inhibitor = new ShutdownInhibitor('systemd-inhibit', pino({ level: 'silent' }));
    inhibitor.hold('6.1.0-50-amd64');
    let held: string[] = [];
    for (let i = 0; i < 50 && held.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      held = await locksOf('dkmsd');
    }
    assert.equal(held.length, 1, 'systemd-inhibit --list shows no dkmsd lock');
    assert.match(held[0] ?? '', /shutdown:sleep/);
    assert.match(held[0] ?? '', /Building DKMS modules for kernel 6\.1\.0-50-amd64/);
    assert.match(held[0] ?? '', /delay/);
    inhibitor.release('6.1.0-50-amd64');
    for (let i = 0; i < 50 && held.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      held = await locksOf('dkmsd');
    }
    assert.deepEqual(held, []);
  });
});
