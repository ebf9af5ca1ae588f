/**
 * A separate process that takes a module lock, for the lock tests:
 *   node lockClient.js TREE MODULE hold          take it, print "locked", wait to be killed
 *   node lockClient.js TREE MODULE enter MARKER  take it (printing "waiting" when it has to
 *                                               wait), create MARKER exclusively (exit 3 if
 *                                               another process is inside), leave, exit 0
 * Without arguments (node --test runs every file under test/) it does nothing.
 */
import { openSync, closeSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { withModuleLock } from '../../../src/core/lock.js';

const [tree = '', module = '', mode = '', marker = ''] = process.argv.slice(2);

async function enter(): Promise<void> {
  if (mode === 'hold') {
    process.stdout.write('locked\n');
    // Hold until killed (the timer keeps the process alive).
    await new Promise(() => setInterval(() => undefined, 60_000));
  }
  let fd: number;
  try {
    fd = openSync(marker, 'wx');
  } catch {
    process.exit(3);
  }
  closeSync(fd);
  // Stay inside a while so that a second process entering too would find the marker.
  await sleep(150);
  unlinkSync(marker);
}

if (mode === 'hold' || mode === 'enter') {
  const onWait = (): boolean => process.stdout.write('waiting\n');
  await withModuleLock(tree, module, enter, { onWait });
}
