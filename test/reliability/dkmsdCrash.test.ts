import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { listOwed } from '../../src/core/finishLedger.js';
import { ARCH, K47, dkms, haveHeaders, makeRoots, type Roots } from '../helpers/roots.js';
import { DkmsdProcess, writeDaemonConfig, type LogRecord } from '../daemon/helpers/dkmsdProcess.js';
import { fakeInitramfs } from '../daemon/helpers/fakeInitramfs.js';
import { seededRandom } from './helpers/crash.js';
import { faultyDepmod, killTree, untilExists } from './helpers/faultTools.js';

/** Four modules, one depending on another, one with two .ko files: a multi-module rebuild. */
const MODULES = ['hello-1.0', 'depsa-1.0', 'depsb-1.0', 'multi-2.0'];

/** Where a seed kills dkmsd: after the nth log record with this message, or inside a tool. */
type KillPoint = { log: string; nth: number } | { tool: 'depmod' | 'initramfs' };

const POINTS: KillPoint[] = [
  { log: 'build started', nth: 1 },
  { tool: 'depmod' },
  { log: 'build finished', nth: 1 },
  { tool: 'initramfs' },
  { log: 'build started', nth: 3 },
  { log: 'build finished', nth: 3 },
];

/** Every path below `dir` (relative), for looking for litter. */
function walk(dir: string, base = dir): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    return [relative(base, path), ...(entry.isDirectory() ? walk(path, base) : [])];
  });
}

const installedKos = (roots: Roots): string[] =>
  walk(join(roots.lib, K47))
    .filter((path) => /\.ko(\.(xz|zst|gz))?$/.test(path))
    .map((path) => `./${path}`)
    .sort();

/** What must hold after any crash and a restart that has caught up. */
async function checkInvariants(roots: Roots, calls: string, why: string): Promise<void> {
  // status matches the disk: every module installed, nothing built but missing or different
  const status = await dkms(roots, ['status']);
  assert.equal(status.code, 0, status.stderr);
  const lines = status.stdout.trim().split('\n').sort();
  assert.deepEqual(
    lines,
    [
      `depsa/1.0, ${K47}, ${ARCH}: installed`,
      `depsb/1.0, ${K47}, ${ARCH}: installed`,
      `hello/1.0, ${K47}, ${ARCH}: installed`,
      `multi/2.0, ${K47}, ${ARCH}: installed`,
    ],
    why,
  );
  const kos = installedKos(roots);
  assert.deepEqual(
    kos.map((ko) => ko.replace(/^.*\//, '')),
    ['depsa.ko', 'depsb.ko', 'hello.ko', 'multi_alpha.ko', 'multi_beta_renamed.ko'],
    why,
  );
  // modules.dep lists every installed module
  const dep = readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8');
  for (const ko of kos) assert.match(dep, new RegExp(`^${ko.slice(2)}:`, 'm'), `${ko}: ${why}`);
  // the initramfs ran after the last install: its last run saw every installed module
  const runs = existsSync(calls)
    ? readFileSync(calls, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('done '))
        .map((line) => line.slice(line.indexOf(': ') + 2))
    : [];
  assert.equal(runs.at(-1)?.trim(), kos.join(' '), `initramfs runs: ${runs.join(' | ')}; ${why}`);
  // nothing owed, no temporary files
  assert.deepEqual(listOwed(roots.tree), [], why);
  const litter = [
    ...walk(roots.tree).filter((p) => /(^|\/)(\.tmp_|build$|\.install-journal)/.test(p)),
    ...walk(roots.lib).filter((p) => /\.tmp$|\.dkms-\d+/.test(p)),
  ];
  assert.deepEqual(litter, [], why);
}

describe(
  'dkmsd killed (SIGKILL to all its processes) during a multi-module rebuild',
  {
    skip: !haveHeaders(K47) && 'no headers',
  },
  () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = seededRandom(seed);
      const point = POINTS[(seed - 1) % POINTS.length] as KillPoint;
      const extraMs = Math.floor(next() * 400);
      const name =
        'tool' in point ? `during ${point.tool}` : `${extraMs} ms after ${point.log} #${point.nth}`;
      it(`seed ${seed}: killed ${name}, restarted, consistent`, async () => {
        const roots = makeRoots([K47]);
        try {
          for (const fixture of MODULES) {
            roots.addFixture(fixture);
            const added = await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')]);
            assert.equal(added.code, 0, added.stderr);
          }
          const initramfs = fakeInitramfs(roots);
          const depmod = faultyDepmod(roots.root, 'hang');
          if (!('tool' in point && point.tool === 'initramfs'))
            writeFileSync(initramfs.release, '');
          if (!('tool' in point && point.tool === 'depmod')) writeFileSync(depmod.release, '');
          const config = writeDaemonConfig(roots, {
            initramfs_command: initramfs.script,
            udev_command: '',
            concurrency: '2',
            log_level: 'info',
          });
          const first = new DkmsdProcess(config.file, {
            DKMS_RUNNING_KERNEL: K47,
            PATH: `${depmod.dir}:${process.env['PATH'] ?? ''}`,
          });
          if ('tool' in point) {
            await untilExists(point.tool === 'depmod' ? depmod.started : initramfs.started);
          } else {
            const matches = (r: LogRecord) => r.msg === point.log;
            await first.waitFor(
              () => first.logs.filter(matches).length >= point.nth,
              `${point.log} #${point.nth}`,
            );
            await sleep(extraMs);
          }
          killTree(first.pid);
          await first.exit();
          writeFileSync(initramfs.release, '');

          const second = new DkmsdProcess(config.file, { DKMS_RUNNING_KERNEL: K47 });
          try {
            await second.waitFor(
              (r) => r.msg === 'catch-up finished',
              'the catch-up after the crash',
            );
            await checkInvariants(
              roots,
              initramfs.calls,
              `seed ${seed} (${name})\n${second.tail(30)}`,
            );
          } finally {
            await second.stop();
          }
        } finally {
          roots.cleanup();
        }
      });
    }
  },
);
