import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildDurations, measureSource } from '../../src/engine/queue/buildEstimates.js';

const dir = mkdtempSync(join(tmpdir(), 'dkms-estimates-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('build estimates', () => {
  it('measures a source tree: compile units and bytes', () => {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.c'), 'x'.repeat(100));
    writeFileSync(join(src, 'sub', 'b.c'), 'x'.repeat(50));
    writeFileSync(join(src, 'Makefile'), 'x'.repeat(10));
    assert.deepEqual(measureSource(src), { units: 2, bytes: 160 });
  });

  it('guesses from the size until a build was timed, then remembers it across restarts', () => {
    const file = join(dir, 'state', '.dkmsd-durations.json');
    const durations = new BuildDurations(file);
    const small = durations.estimate('small', { units: 1, bytes: 10_000 });
    const big = durations.estimate('big', { units: 1, bytes: 6_000_000 });
    assert.ok(big > small);
    durations.record('big', 1234);
    const again = new BuildDurations(file);
    assert.equal(again.estimate('big', { units: 1, bytes: 6_000_000 }), 1234);
    assert.equal(again.estimate('small', { units: 1, bytes: 10_000 }), small);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      version: 1,
      modules: { big: 1234 },
    });
  });

  it('ignores a malformed file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"modules": {"a": "soon", "b": -1}}');
    const durations = new BuildDurations(file);
    assert.equal(
      durations.estimate('a', { units: 1, bytes: 0 }),
      durations.estimate('x', { units: 1, bytes: 0 }),
    );
  });
});
