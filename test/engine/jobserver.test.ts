import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runShell } from '../../src/core/exec.js';
import type { JobResult } from '../../src/engine/autoinstall.js';
import { BuildQueue } from '../../src/engine/queue/buildQueue.js';
import { MakeJobserver } from '../../src/engine/queue/jobserver.js';

const dir = mkdtempSync(join(tmpdir(), 'dkms-jobserver-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A module whose MAKE is shaped like openafs's: a shell line running `make` (no -j), whose
 * Makefile runs a nested make for JOBS targets; each target records its start and end.
 */
function nestedMakeModule(name: string, log: string, jobs = 6): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'Makefile'), 'all:\n\t$(MAKE) -C sub\n');
  const targets = Array.from({ length: jobs }, (_, i) => `${name}${i}`);
  writeFileSync(
    join(root, 'sub', 'Makefile'),
    `all: ${targets.join(' ')}\n${targets.join(' ')}:\n\t@echo "start $@" >>${log}; sleep 0.4; echo "end $@" >>${log}\n`,
  );
  return root;
}

/** The most jobs that ran at once, from the order of their start and end records. */
function peak(log: string): number {
  let running = 0;
  let most = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.startsWith('start ')) most = Math.max(most, ++running);
    if (line.startsWith('end ')) running--;
  }
  return most;
}

/**
 * A build queue of `cpus` CPUs sharing one jobserver whose builds run the shell line
 * `lineFor(module)` in `cwd` (the module's name, or `dir`): installed when it exits 0.
 */
function shellQueue(
  cpus: number,
  lineFor: (module: string) => { line: string; cwd: string },
  seen: (jobserver: boolean) => void = () => undefined,
): {
  queue: BuildQueue;
  build: (module: string, signal: AbortSignal, estimateMs?: number) => Promise<JobResult>;
} {
  const queue = new BuildQueue({
    concurrency: cpus,
    cpus,
    jobserver: true,
    run: async (request, _jobs, _signal, jobserver): Promise<JobResult> => {
      seen(jobserver !== undefined);
      const { line, cwd } = lineFor(request.module);
      const result = await runShell(line, { cwd, jobserver });
      const ref = { module: request.module, version: '1' };
      return result.exitCode === 0
        ? { ref, status: 'installed' }
        : { ref, status: 'skipped', reason: result.tail };
    },
  });
  const none = new Map<string, Promise<JobResult>>();
  const build = (module: string, signal: AbortSignal, estimateMs = 0) =>
    queue.enqueue(
      { module, version: '1', kernel: 'K', arch: 'x86_64', priority: 0, units: 6, estimateMs },
      none,
      signal,
    );
  return { queue, build };
}

describe('make jobserver', () => {
  it('nested makes started from a shell line share its tokens', async () => {
    const log = join(dir, 'one.log');
    const root = nestedMakeModule('one', log);
    const jobserver = MakeJobserver.open(3);
    assert.ok(jobserver, 'a jobserver can be opened');
    const result = await runShell('true && make -s', { cwd: root, jobserver: jobserver.auth });
    jobserver.close();
    assert.equal(result.exitCode, 0, result.tail);
    const most = peak(log);
    assert.ok(most >= 2, `jobs ran in parallel without -j (peak ${most})`);
    assert.ok(most <= 3, `never more than the 3 jobs of the jobserver (peak ${most})`);
  });

  it('the build queue shares one jobserver between its builds', async () => {
    const log = join(dir, 'queue.log');
    const roots = ['a', 'b', 'c'].map((name) => nestedMakeModule(`q${name}`, log));
    const modes: boolean[] = [];
    const { queue, build } = shellQueue(
      3,
      (module) => ({ line: 'make -s', cwd: module }),
      (jobserver) => modes.push(jobserver),
    );
    const signal = new AbortController().signal;
    const results = await Promise.all(roots.map((root) => build(root, signal)));
    queue.close();
    assert.deepEqual(
      results.map((r) => r.status),
      ['installed', 'installed', 'installed'],
    );
    assert.deepEqual(modes, [true, true, true]);
    const most = peak(log);
    assert.ok(most >= 2, `builds ran in parallel (peak ${most})`);
    assert.ok(most <= 3, `three builds of six jobs each never ran more than 3 jobs (peak ${most})`);
  });

  it("hands a finished build's CPU to a queued build, not to a make waiting on the pipe", async () => {
    const log = join(dir, 'handover.log');
    writeFileSync(log, '');
    // "big" is a make that wants a second job as soon as it starts: it blocks on the pipe
    // (as make does) once the first small build has taken the one token there is
    const big = `sleep 0.3; head -c 1 <&3 >/dev/null; echo "big got a token" >>${log}; sleep 1; printf + >&4`;
    const small = (name: string) => `echo "start ${name}" >>${log}; sleep 0.6`;
    const { queue, build } = shellQueue(2, (module) => ({
      line: module === 'big' ? big : small(module),
      cwd: dir,
    }));
    const signal = new AbortController().signal;
    const results = await Promise.all([
      build('big', signal, 100_000),
      build('s1', signal, 3),
      build('s2', signal, 2),
      build('s3', signal, 1),
    ]);
    queue.close();
    assert.deepEqual(
      results.map((r) => r.status),
      ['installed', 'installed', 'installed', 'installed'],
    );
    // before, s1's token went back to the pipe, big's make took it and s2 waited for big
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      'start s1',
      'start s2',
      'start s3',
      'big got a token',
    ]);
  });

  it('loses no CPU to builds cancelled while queued or waiting for one', async () => {
    const log = join(dir, 'cancel.log');
    writeFileSync(log, '');
    const { queue, build } = shellQueue(2, (module) => {
      const [name = '', seconds = '0'] = module.split(':');
      return {
        line: `echo "start ${name}" >>${log}; sleep ${seconds}; echo "end ${name}" >>${log}`,
        cwd: dir,
      };
    });
    const cancel = new AbortController();
    const first = Promise.all([
      build('long:0.8', cancel.signal, 3),
      build('short:0.2', cancel.signal, 2),
      build('queued1:0.2', cancel.signal, 1),
      build('queued2:0.2', cancel.signal, 1),
    ]);
    // short ends at 0.2 s and hands its CPU to queued1; queued2 is cancelled while queued
    setTimeout(() => cancel.abort(), 300);
    await first;
    // both CPUs are there again: two new builds run side by side
    writeFileSync(log, '');
    const again = new AbortController().signal;
    await Promise.all([build('x:0.5', again), build('y:0.5', again)]);
    queue.close();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(0, 2).sort(), ['start x', 'start y'], lines.join(' | '));
  });

  it('gets back the tokens of a make that was killed, once no build runs', () => {
    const jobserver = MakeJobserver.open(4);
    assert.ok(jobserver);
    let taken = 0;
    while (jobserver.tryAcquire()) taken++;
    assert.equal(taken, 3, 'jobs - 1 tokens in the pipe');
    jobserver.reset();
    taken = 0;
    while (jobserver.tryAcquire()) taken++;
    assert.equal(taken, 3);
    jobserver.close();
  });
});
