import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { dkms, dkmsBin, makeRoots } from '../helpers/roots.js';

describe('dkms with a reader that went away', () => {
  const roots = makeRoots([]);
  after(() => roots.cleanup());

  it('ends quietly with 141, as bash killed by SIGPIPE', async () => {
    roots.addFixture('hello-1.0');
    assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
    // stdout is a pipe whose reading end is closed before dkms writes its first line.
    const child = spawn(dkmsBin, ['status', ...roots.treeArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 141);
  });
});
