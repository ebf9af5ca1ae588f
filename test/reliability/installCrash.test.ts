import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ARCH, K47, dkms, makeRoots, skipWithoutHeaders, type Roots } from '../helpers/roots.js';
import {
  copyRoots,
  dkmsRun,
  isTemporary,
  seededRandom,
  tracePoints,
  walk,
} from './helpers/crash.js';

/*
 * SIGKILL of a real `dkms install` (real make against the real headers) at seeded crash
 * points, then the next command, then the invariants: status matches the disk, modules.dep
 * lists what is installed, originals are where they belong, no temporary file is left.
 *
 * Each seed names one crash point (DKMS_TEST_CRASH_AT, see src/core/crashPoint.ts) and the
 * next command. Rerun one seed: DKMS_CRASH_SEED=7 node --test dist/test/reliability/
 * More seeds: DKMS_CRASH_SEEDS=60. Keep a seed's sandbox to look at: DKMS_CRASH_KEEP=1.
 */

const MODULE = { module: 'multi', version: '2.0' };
const REF = 'multi/2.0';
// DEST_MODULE_LOCATION /extra becomes /updates/dkms on Debian, as upstream remaps it.
const INSTALLED = ['updates/dkms/multi_alpha.ko', 'updates/dkms/multi_beta_renamed.ko'];
const ORIGINAL = 'kernel/drivers/misc/multi_alpha.ko';
const ORIGINAL_TEXT = 'the in-tree multi_alpha\n';
const NEXT = ['install', 'uninstall', 'remove'] as const;
type Next = (typeof NEXT)[number];

const seedCount = Number(process.env['DKMS_CRASH_SEEDS'] ?? 24);
const onlySeed = process.env['DKMS_CRASH_SEED'];
const seeds = onlySeed ? [Number(onlySeed)] : Array.from({ length: seedCount }, (_, i) => i + 1);

/** Every crash point once before any repeats, in an order fixed by one constant. */
function pointOrder(total: number): number[] {
  const order = Array.from({ length: total }, (_, i) => i + 1);
  const random = seededRandom(20261130);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

const nextArgs = (next: Next): string[] =>
  next === 'remove' ? ['remove', REF, '--all'] : [next, REF, '-k', K47];

/** The invariants after the next command, given what that command promises. */
async function assertConsistent(roots: Roots, next: Next): Promise<void> {
  const litter = [
    ...walk(roots.tree).map((p) => join(roots.tree, p)),
    ...walk(roots.lib).map((p) => join(roots.lib, p)),
  ].filter(isTemporary);
  assert.deepEqual(litter, [], 'no temporary file is left');

  const status = (await dkms(roots, ['status', 'multi'])).stdout;
  const lib = join(roots.lib, K47);
  const original = join(lib, ORIGINAL);
  const backup = join(roots.tree, 'multi/original_module', K47, ARCH);
  const depPath = join(lib, 'modules.dep');
  const modulesDep = existsSync(depPath) ? readFileSync(depPath, 'utf8') : '';

  if (next === 'install') {
    assert.equal(status, `${REF}, ${K47}, ${ARCH}: installed (Original modules exist)\n`);
    for (const file of INSTALLED) {
      const built = join(roots.tree, 'multi/2.0', K47, ARCH, 'module', file.split('/').pop() ?? '');
      assert.deepEqual(readFileSync(join(lib, file)), readFileSync(built), `${file} = built`);
      assert.match(modulesDep, new RegExp(`^${file.replace(/\./g, '\\.')}:`, 'm'), file);
    }
    assert.ok(!existsSync(original), 'the original is moved aside while installed');
    assert.equal(readFileSync(join(backup, 'multi_alpha.ko'), 'utf8'), ORIGINAL_TEXT);
    assert.equal(readFileSync(join(backup, 'multi_alpha.ko.origin'), 'utf8'), `${original}\n`);
    return;
  }
  if (next === 'remove') {
    assert.equal(status, '');
    assert.ok(!existsSync(join(roots.tree, 'multi')), 'the module is gone from the tree');
  } else {
    assert.match(status, new RegExp(`^${REF}(, ${K47}, ${ARCH}: built|: added)\\n$`));
  }
  for (const file of INSTALLED) assert.ok(!existsSync(join(lib, file)), `${file} is gone`);
  assert.doesNotMatch(modulesDep, /^updates\/dkms\/multi_/m, 'modules.dep lists no dkms module');
  assert.equal(readFileSync(original, 'utf8'), ORIGINAL_TEXT, 'the original is restored');
  assert.ok(!existsSync(backup), 'no backup is left');
}

describe(
  'dkms install killed at seeded points, then the next command',
  {
    skip: skipWithoutHeaders,
  },
  () => {
    let added: Roots;
    let built: Roots;
    let buildPoints: string[];
    let installPoints: string[];
    let order: number[];

    before(async () => {
      added = makeRoots([K47]);
      added.addFixture('multi-2.0');
      assert.equal((await dkms(added, ['add', REF])).code, 0);
      mkdirSync(join(added.lib, K47, 'kernel/drivers/misc'), { recursive: true });
      writeFileSync(join(added.lib, K47, ORIGINAL), ORIGINAL_TEXT);
      built = copyRoots(added, MODULE);
      buildPoints = await tracePoints(built, ['build', REF, '-k', K47]);
      const measured = copyRoots(built, MODULE);
      installPoints = await tracePoints(measured, ['install', REF, '-k', K47]);
      measured.cleanup();
      assert.ok(buildPoints.length >= 2, `build points: ${buildPoints.join(', ')}`);
      assert.ok(installPoints.length >= 15, `install points: ${installPoints.join(', ')}`);
      order = pointOrder(buildPoints.length + installPoints.length);
    });
    after(() => {
      added.cleanup();
      built.cleanup();
    });

    for (const seed of seeds) {
      const next = NEXT[(seed - 1) % NEXT.length] as Next;
      it(`seed ${seed}, then dkms ${next}`, async (t) => {
        const point = order[(seed - 1) % order.length] as number;
        const inBuild = point <= buildPoints.length;
        const label = inBuild
          ? buildPoints[point - 1]
          : installPoints[point - buildPoints.length - 1];
        t.diagnostic(`seed ${seed}: SIGKILL at crash point ${point} (${label}), then dkms ${next}`);
        // A kill after the build starts from the built tree: the same install, without make.
        const roots = copyRoots(inBuild ? added : built, MODULE);
        try {
          const killed = await dkmsRun(roots, ['install', REF, '-k', K47], {
            DKMS_TEST_CRASH_AT: String(inBuild ? point : point - buildPoints.length),
          });
          assert.equal(killed.signal, 'SIGKILL', `the crash point was reached: ${killed.stderr}`);
          const after = await dkmsRun(roots, nextArgs(next));
          assert.equal(after.code, 0, `dkms ${next}: ${after.stderr}`);
          await assertConsistent(roots, next);
        } finally {
          if (process.env['DKMS_CRASH_KEEP']) console.error(`kept ${roots.root}`);
          else roots.cleanup();
        }
      });
    }
  },
);
