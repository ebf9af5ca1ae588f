import { appendFileSync } from 'node:fs';

/**
 * TEST-ONLY fault injection for the crash tests (test/reliability/). The step runner and the
 * build call `crashPoint(label)` at every place a crash could leave the disk in a new state;
 * points are numbered from 1 in the order this process reaches them.
 *
 * - `DKMS_TEST_CRASH_AT=N`: the process SIGKILLs itself at point N.
 * - `DKMS_TEST_CRASH_TRACE=FILE`: appends `N label` for every point reached.
 *
 * Neither variable is meant for anything but tests; without them this is a counter.
 */
let reached = 0;
const crashAt = Number(process.env['DKMS_TEST_CRASH_AT'] ?? 0);
const trace = process.env['DKMS_TEST_CRASH_TRACE'];

export function crashPoint(label: string): void {
  reached++;
  if (trace) appendFileSync(trace, `${reached} ${label}\n`);
  if (reached === crashAt) process.kill(process.pid, 'SIGKILL');
}
