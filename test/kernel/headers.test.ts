import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { headersStamp, headersState } from '../../src/kernel/headers.js';
import { createContext } from '../../src/core/context.js';
import type { DkmsError } from '../../src/core/errors.js';
import { MemoryReporter } from '../../src/core/host.js';
import { defaultPaths } from '../../src/core/paths.js';
import { requireHeaders } from '../../src/engine/kernelPreparation.js';
import { fakeHeaders } from '../helpers/fakeHeaders.js';

describe('kernel headers: one rule for dkms and dkmsd', () => {
  const root = mkdtempSync(join(tmpdir(), 'dkms-headers.'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('ready only with the Makefile, include/, the config and scripts/', () => {
    assert.deepEqual(headersState(join(root, 'none')), { state: 'missing' });
    const ready = fakeHeaders(join(root, 'ready'), ['Makefile', 'include', 'auto.conf', 'scripts']);
    assert.deepEqual(headersState(ready), { state: 'ready' });
    // what dpkg leaves while it is still unpacking linux-headers: scripts/ comes last
    const half = fakeHeaders(join(root, 'half'), ['Makefile', 'include', 'auto.conf']);
    assert.deepEqual(headersState(half), { state: 'incomplete', missing: ['scripts/'] });
    const bare = fakeHeaders(join(root, 'bare'), ['include']);
    assert.deepEqual(headersState(bare), {
      state: 'incomplete',
      missing: ['Makefile', 'include/config/auto.conf', 'scripts/'],
    });
  });

  it("dkms's error keeps upstream's wording and names what is missing", () => {
    const ctxFor = (dir: string) =>
      createContext({
        paths: { ...defaultPaths(), installTree: join(root, 'lib') },
        framework: {},
        parallelJobs: 1,
        reporter: new MemoryReporter(),
        kernelSourceDir: dir,
      });
    const half = join(root, 'half');
    assert.throws(
      () => requireHeaders(ctxFor(half), '6.1.0-1-amd64'),
      (error: DkmsError) =>
        error.code === 'HEADERS_MISSING' &&
        /^Your kernel headers for kernel 6\.1\.0-1-amd64 cannot be found at /.test(error.message) &&
        /incomplete \(no scripts\/\)/.test(error.hint ?? ''),
    );
    assert.throws(
      () => requireHeaders(ctxFor(join(root, 'none')), 'k'),
      (error: DkmsError) => error.hint === undefined,
    );
    requireHeaders(ctxFor(join(root, 'ready')), 'k');
  });

  it('the stamp changes with any file created or renamed deep inside, and only then', () => {
    const tree = fakeHeaders(join(root, 'stamp'), ['Makefile', 'include', 'auto.conf', 'scripts']);
    const before = headersStamp([tree]);
    assert.equal(headersStamp([tree]), before);
    writeFileSync(join(tree, 'include', 'config', 'FOO.dpkg-new'), '');
    const created = headersStamp([tree]);
    assert.notEqual(created, before);
    renameSync(
      join(tree, 'include', 'config', 'FOO.dpkg-new'),
      join(tree, 'include', 'config', 'FOO'),
    );
    assert.notEqual(headersStamp([tree]), created);
    assert.match(headersStamp([join(root, 'gone')]), /:-$/);
  });
});
