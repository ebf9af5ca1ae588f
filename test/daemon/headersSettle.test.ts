import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { probeKernel } from '../../src/daemon/watch/kernelProbe.js';
import { settleHeaders } from '../../src/daemon/watch/headersSettle.js';
import { fakeHeaders } from '../helpers/fakeHeaders.js';

const K = '6.1.0-99-amd64';

describe('dkmsd waits for headers to be whole and quiet', () => {
  const root = mkdtempSync(join(tmpdir(), 'dkmsd-settle.'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const installTree = join(root, 'lib', 'modules');
  const sourceTree = join(root, 'src');
  const build = join(installTree, K, 'build');
  const probe = () => probeKernel(installTree, sourceTree, K);
  const signal = new AbortController().signal;

  it('reports headers that lack scripts/ as incomplete, and where to watch for it', () => {
    fakeHeaders(build, ['Makefile', 'include', 'auto.conf']);
    assert.deepEqual(probe(), {
      kernel: K,
      headers: undefined,
      headersElsewhere: false,
      incomplete: { dir: build, missing: ['scripts/'], watch: [build] },
    });
    fakeHeaders(build, ['scripts']);
    assert.equal(probe().headers, build);
  });

  it('builds only after a quiet round: each change restarts the wait', async () => {
    let rounds = 0;
    const settled = await settleHeaders({
      quietMs: 0,
      probe,
      installTree,
      signal,
      // an unpack still going on: two more files arrive, one per round
      sleep: () => {
        rounds++;
        if (rounds <= 2) writeFileSync(join(build, 'include', 'generated', `f${rounds}`), '');
        return Promise.resolve();
      },
    });
    assert.equal(settled?.headers, build);
    assert.equal(rounds, 3);
  });

  it('gives up when the headers stop being ready or never go quiet', async () => {
    const gone = await settleHeaders({
      quietMs: 0,
      probe,
      installTree,
      signal,
      sleep: () => {
        rmSync(join(build, 'scripts'), { recursive: true });
        return Promise.resolve();
      },
    });
    assert.equal(gone, undefined);
    fakeHeaders(build, ['scripts']);
    let n = 0;
    const busy = await settleHeaders({
      quietMs: 0,
      probe,
      installTree,
      signal,
      maxRounds: 5,
      sleep: () => {
        writeFileSync(join(build, `busy${n++}`), '');
        return Promise.resolve();
      },
    });
    assert.equal(busy, undefined);
  });
});
