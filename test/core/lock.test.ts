import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import { withModuleLock } from '../../src/core/lock.js';

const client = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'lockClient.js');

/** A holder process: resolves once it holds the lock. */
async function holder(lockDir: string, tree: string, module: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [client, tree, module, 'hold'], {
    env: { ...process.env, DKMS_LOCKDIR: lockDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited with ${String(code)}`)));
  });
  return child;
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code)),
  );

describe('module locks are flock(2): the kernel releases them when the holder dies', () => {
  let lockDir: string;
  let tree: string;
  const saved = process.env['DKMS_LOCKDIR'];
  before(() => {
    lockDir = mkdtempSync(join(tmpdir(), 'dkms-locks.'));
    tree = mkdtempSync(join(tmpdir(), 'dkms-tree.'));
    process.env['DKMS_LOCKDIR'] = lockDir;
  });
  after(() => {
    if (saved === undefined) delete process.env['DKMS_LOCKDIR'];
    else process.env['DKMS_LOCKDIR'] = saved;
    rmSync(lockDir, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
  });

  it('kill -9 of the holder: every waiter gets in, never two at once', async () => {
    const held = await holder(lockDir, tree, 'hello');
    const marker = join(tree, 'inside');
    const waiters = Array.from({ length: 6 }, () =>
      spawn(process.execPath, [client, tree, 'hello', 'enter', marker], {
        env: { ...process.env, DKMS_LOCKDIR: lockDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    // Kill the holder only when every waiter says it is waiting for it.
    await Promise.all(
      waiters.map(
        (waiter) =>
          new Promise<void>((resolve) =>
            waiter.stdout?.on('data', (chunk: Buffer) => {
              if (chunk.toString().includes('waiting')) resolve();
            }),
          ),
      ),
    );
    held.kill('SIGKILL');
    await exited(held);
    const codes = await Promise.all(waiters.map(exited));
    assert.deepEqual(codes, [0, 0, 0, 0, 0, 0], 'exit 3 means two processes were inside');
  });

  it('says who holds it after a second, gives up on abort and on a timeout with LOCKED', async () => {
    const held = await holder(lockDir, tree, 'busy');
    try {
      const notices: string[] = [];
      const controller = new AbortController();
      const aborted = withModuleLock(tree, 'busy', () => Promise.resolve('entered'), {
        signal: controller.signal,
        onWait: (line) => {
          notices.push(line);
          controller.abort();
        },
      });
      await assert.rejects(aborted, (e: unknown) => e instanceof DkmsError && e.code === 'ABORTED');
      assert.deepEqual(notices, [
        `Waiting for the lock of module busy held by pid ${String(held.pid)}...`,
      ]);
      await assert.rejects(
        withModuleLock(tree, 'busy', () => Promise.resolve('entered'), { timeoutMs: 50 }),
        (e: unknown) =>
          e instanceof DkmsError &&
          e.code === 'LOCKED' &&
          e.message.includes(`held by pid ${String(held.pid)}`),
      );
    } finally {
      held.kill('SIGKILL');
      await exited(held);
    }
    assert.equal(await withModuleLock(tree, 'busy', () => Promise.resolve('entered')), 'entered');
  });

  it('two callers in one process exclude each other; other modules do not wait', async () => {
    const order: string[] = [];
    let releaseFirst = (): void => undefined;
    const first = withModuleLock(tree, 'same', async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('first out');
    });
    while (order.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = withModuleLock(tree, 'same', () => {
      order.push('second in');
      return Promise.resolve();
    });
    await withModuleLock(tree, 'other', () => Promise.resolve(order.push('other')));
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'other', 'first out', 'second in']);
  });
});
