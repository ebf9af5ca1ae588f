import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { JobResult } from '../../src/engine/autoinstall.js';
import { DkmsError } from '../../src/core/errors.js';
import { BuildQueue, type BuildRequest } from '../../src/engine/queue/buildQueue.js';
import { enqueuePlan } from '../../src/engine/queue/enqueuePlan.js';

/** A queue whose builds are timers; it records what ran, in order, and how many at once. */
function fakeQueue(options: { concurrency: number; cpus?: number; fail?: string[] }) {
  const events: string[] = [];
  const makeJobs: Record<string, number> = {};
  let running = 0;
  let peak = 0;
  const queue = new BuildQueue({
    concurrency: options.concurrency,
    cpus: options.cpus ?? options.concurrency,
    run: async (request, jobs, signal): Promise<JobResult> => {
      const name = `${request.module}@${request.kernel}`;
      makeJobs[name] = jobs;
      running++;
      peak = Math.max(peak, running);
      events.push(`start ${name}`);
      await sleep(20, undefined, { signal }).catch(() => undefined);
      running--;
      events.push(`end ${name}`);
      const ref = { module: request.module, version: request.version };
      if (signal.aborted)
        return { ref, status: 'failed', error: new DkmsError('ABORTED', 'stopped') };
      if (options.fail?.includes(request.module))
        return { ref, status: 'failed', error: new DkmsError('BUILD_FAILED', 'no') };
      return { ref, status: 'installed' };
    },
  });
  return { queue, events, makeJobs, peak: () => peak };
}

const request = (
  module: string,
  kernel = 'K',
  extra: Partial<BuildRequest> = {},
): BuildRequest => ({
  module,
  version: '1',
  kernel,
  arch: 'x86_64',
  priority: 0,
  units: 1,
  ...extra,
});
const none = new Map<string, Promise<JobResult>>();

describe('BuildQueue', () => {
  it('runs one build per module/version/kernel/arch, however often it is queued', async () => {
    const { queue, events } = fakeQueue({ concurrency: 2 });
    const signal = new AbortController().signal;
    const results = await Promise.all([
      queue.enqueue(request('a'), none, signal),
      queue.enqueue(request('a'), none, signal),
      queue.enqueue(request('a', 'L'), none, signal),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['installed', 'installed', 'installed'],
    );
    assert.deepEqual(events.filter((e) => e.startsWith('start')).sort(), [
      'start a@K',
      'start a@L',
    ]);
  });

  it('keeps to its concurrency and runs builds of one module one after the other', async () => {
    const { queue, events, peak } = fakeQueue({ concurrency: 3 });
    const signal = new AbortController().signal;
    await Promise.all(
      ['K1', 'K2'].flatMap((kernel) =>
        ['a', 'b', 'c'].map((m) => queue.enqueue(request(m, kernel), none, signal)),
      ),
    );
    assert.ok(peak() <= 3);
    assert.ok(events.indexOf('end a@K1') < events.indexOf('start a@K2'), events.join(', '));
  });

  it('starts a build after its BUILD_DEPENDS and fails it unbuilt when one of them failed', async () => {
    const { queue, events } = fakeQueue({ concurrency: 4, fail: ['x'] });
    const jobs = [
      { module: 'a', version: '1', after: [] },
      { module: 'b', version: '1', after: ['a'] },
      { module: 'x', version: '1', after: [] },
      { module: 'y', version: '1', after: ['x'] },
    ];
    const results = await Promise.all(
      enqueuePlan(queue, jobs, {
        kernel: 'K',
        arch: 'x86_64',
        priority: 0,
        signal: new AbortController().signal,
        estimate: () => ({ units: 1, estimateMs: 0 }),
      }),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['installed', 'installed', 'failed', 'failed'],
    );
    assert.ok(events.indexOf('end a@K') < events.indexOf('start b@K'));
    assert.ok(!events.includes('start y@K'), 'y was not built');
    const y = results[3];
    assert.ok(
      y?.status === 'failed' &&
        y.error.code === 'BUILD_DEPENDS_MISSING' &&
        /missing dependencies: x/.test(y.error.message),
    );
  });

  it('starts the running kernel first, then the biggest build, whatever the order they came in', async () => {
    const { queue, events } = fakeQueue({ concurrency: 1 });
    const signal = new AbortController().signal;
    await Promise.all([
      queue.enqueue(request('small', 'old', { units: 1 }), none, signal),
      queue.enqueue(request('big', 'old', { units: 70 }), none, signal),
      queue.enqueue(request('mine', 'running', { priority: 1 }), none, signal),
    ]);
    assert.deepEqual(
      events.filter((e) => e.startsWith('start')),
      ['start mine@running', 'start big@old', 'start small@old'],
    );
  });

  it('starts the longest expected build first, remembered durations over source size', async () => {
    const { queue, events } = fakeQueue({ concurrency: 1 });
    const signal = new AbortController().signal;
    await Promise.all([
      queue.enqueue(request('many-files', 'K', { units: 300, estimateMs: 20_000 }), none, signal),
      queue.enqueue(request('configure', 'K', { units: 2, estimateMs: 190_000 }), none, signal),
      queue.enqueue(request('tiny', 'K', { units: 1, estimateMs: 2_000 }), none, signal),
    ]);
    assert.deepEqual(
      events.filter((e) => e.startsWith('start')),
      ['start configure@K', 'start many-files@K', 'start tiny@K'],
    );
  });

  it('gives several small builds -j1 each and a lone big one every CPU', async () => {
    const small = fakeQueue({ concurrency: 4, cpus: 4 });
    const signal = new AbortController().signal;
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((m) => small.queue.enqueue(request(m), none, signal)),
    );
    assert.deepEqual(Object.values(small.makeJobs), [1, 1, 1, 1]);
    const big = fakeQueue({ concurrency: 4, cpus: 4 });
    await big.queue.enqueue(request('nvidia', 'K', { units: 300 }), none, signal);
    assert.deepEqual(big.makeJobs, { 'nvidia@K': 4 });
  });

  it('on abort, cancels waiting builds and waits for running ones to finish their cleanup', async () => {
    const { queue, events } = fakeQueue({ concurrency: 1 });
    const controller = new AbortController();
    const running = queue.enqueue(request('a'), none, controller.signal);
    const waiting = queue.enqueue(request('b'), none, controller.signal);
    await sleep(5);
    controller.abort();
    const [a, b] = await Promise.all([running, waiting]);
    assert.ok(a.status === 'failed' && a.error.code === 'ABORTED');
    assert.ok(b.status === 'failed' && b.error.code === 'ABORTED');
    assert.ok(events.includes('end a@K'), 'the running build ended before its result');
    assert.ok(!events.includes('start b@K'));
    await queue.settled();
    assert.equal(queue.busy, false);
  });

  it('a build that throws keeps its code and log path: it was not "cancelled"', async () => {
    const queue = new BuildQueue({
      concurrency: 1,
      cpus: 1,
      run: () =>
        Promise.reject(
          new DkmsError('BUILD_FAILED', 'Bad return status', { logPath: '/t/make.log' }),
        ),
    });
    const result = await queue.enqueue(request('a'), none, new AbortController().signal);
    assert.ok(result.status === 'failed');
    assert.equal(result.error.code, 'BUILD_FAILED');
    assert.equal(result.error.logPath, '/t/make.log');
    assert.doesNotMatch(result.error.message, /cancelled/);

    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
      path: '/var/lib/dkms/a/1/build/a.ko',
    });
    const raw = new BuildQueue({ concurrency: 1, cpus: 1, run: () => Promise.reject(enospc) });
    const failed = await raw.enqueue(request('b'), none, new AbortController().signal);
    assert.ok(failed.status === 'failed');
    assert.equal(failed.error.code, 'NO_SPACE');
  });
});
