import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createContext, type DkmsContext } from '../../../src/core/context.js';
import { DkmsError } from '../../../src/core/errors.js';
import { MemoryReporter } from '../../../src/core/host.js';
import { defaultPaths } from '../../../src/core/paths.js';
import { recoverModule } from '../../../src/engine/recovery.js';
import { inverseOf, type EngineStep } from '../../../src/engine/steps/engineStep.js';
import { journalPath, readJournal, writeJournal } from '../../../src/engine/steps/journal.js';
import { findModuleLitter } from '../../../src/engine/steps/litter.js';
import { performStep } from '../../../src/engine/steps/performStep.js';
import { runEnginePlan } from '../../../src/engine/steps/stepRunner.js';

const K = '6.1.0-50-amd64';

describe('the step runner', () => {
  let root: string;
  let ctx: DkmsContext;
  let reporter: MemoryReporter;
  let lib: string;
  let moduleDir: string;
  let built: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dkms-runner.'));
    reporter = new MemoryReporter();
    ctx = createContext({
      paths: { ...defaultPaths(), dkmsTree: join(root, 'tree'), installTree: join(root, 'lib') },
      framework: {},
      parallelJobs: 1,
      reporter,
      depmod: false,
    });
    lib = join(root, 'lib', K);
    moduleDir = join(root, 'tree', 'hello');
    built = join(moduleDir, '1.0', K, 'x86_64', 'module', 'hello.ko');
    mkdirSync(join(built, '..'), { recursive: true });
    writeFileSync(built, 'built module');
    mkdirSync(join(lib, 'kernel'), { recursive: true });
    writeFileSync(join(lib, 'kernel', 'hello.ko'), 'original');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const installSteps = (): EngineStep[] => {
    const saved = join(moduleDir, 'original_module', K, 'x86_64', 'hello.ko');
    return [
      { kind: 'say', level: 'info', text: 'Installing hello' },
      {
        kind: 'backupOriginal',
        original: join(lib, 'kernel', 'hello.ko'),
        saved,
        record: `${saved}.origin`,
      },
      {
        kind: 'placeModule',
        from: built,
        to: join(lib, 'updates', 'hello.ko'),
        temp: join(lib, 'updates', '.hello.ko.dkms-1.tmp'),
        symlink: false,
        libTree: lib,
      },
      {
        kind: 'writeLink',
        path: join(moduleDir, `kernel-${K}-x86_64`),
        target: `1.0/${K}/x86_64`,
        temp: join(moduleDir, `.kernel-${K}-x86_64.dkms-1.tmp`),
      },
    ];
  };

  it('carries out a plan, prints its lines, and leaves no journal', async () => {
    const outcome = await runEnginePlan(ctx, {
      module: 'hello',
      title: 'install of hello/1.0',
      onError: 'undo',
      steps: installSteps(),
    });
    assert.equal(readFileSync(join(lib, 'updates', 'hello.ko'), 'utf8'), 'built module');
    assert.ok(!existsSync(join(lib, 'kernel', 'hello.ko')));
    assert.equal(readlinkSync(join(moduleDir, `kernel-${K}-x86_64`)), `1.0/${K}/x86_64`);
    assert.ok(!existsSync(journalPath(moduleDir)));
    assert.deepEqual(
      reporter.lines.filter((line) => line.level !== 'verbose'),
      [{ level: 'info', text: 'Installing hello' }],
    );
    assert.deepEqual([...outcome.depmodOwed], [K]);
  });

  it('rolls back the finished steps when one fails, and throws its error', async () => {
    const steps = installSteps();
    steps.splice(3, 0, { kind: 'fail', code: 'INSTALL_FAILED', message: 'no' });
    await assert.rejects(
      runEnginePlan(ctx, { module: 'hello', title: 'install', onError: 'undo', steps }),
      (error: unknown) => error instanceof DkmsError && error.code === 'INSTALL_FAILED',
    );
    assert.equal(readFileSync(join(lib, 'kernel', 'hello.ko'), 'utf8'), 'original');
    assert.ok(!existsSync(join(lib, 'updates')), 'the copy and its directory are gone');
    assert.ok(!existsSync(join(moduleDir, 'original_module')), 'the emptied backup is gone');
    assert.ok(!existsSync(join(moduleDir, `kernel-${K}-x86_64`)));
    assert.ok(!existsSync(journalPath(moduleDir)));
  });

  it('only stops (no rollback) when the plan says so', async () => {
    const steps: EngineStep[] = [
      { kind: 'removeFile', path: join(lib, 'kernel', 'hello.ko') },
      { kind: 'fail', code: 'INSTALL_FAILED', message: 'no' },
      { kind: 'removeFile', path: built },
    ];
    await assert.rejects(
      runEnginePlan(ctx, { module: 'hello', title: 'uninstall', onError: 'stop', steps }),
    );
    assert.ok(!existsSync(join(lib, 'kernel', 'hello.ko')));
    assert.ok(existsSync(built));
    assert.ok(!existsSync(journalPath(moduleDir)));
  });

  it('finishes an interrupted plan from its journal, replaying the step it was in', async () => {
    const steps = installSteps();
    // A crash in the middle of the copy: the journal names the step, a partial temp exists.
    mkdirSync(join(lib, 'updates'));
    writeFileSync(join(lib, 'updates', '.hello.ko.dkms-1.tmp'), 'bui');
    for (const step of steps.slice(0, 2)) await performStep(ctx, step, { say: () => undefined });
    writeJournal(journalPath(moduleDir), {
      version: 1,
      title: 'install of hello/1.0 for 6.1.0-50-amd64 (x86_64)',
      pid: 1,
      onError: 'undo',
      mode: 'do',
      done: steps.slice(0, 2),
      remaining: steps.slice(2),
    });
    const recovery = await recoverModule(ctx, 'hello');
    assert.equal(recovery.resumed, 'install of hello/1.0 for 6.1.0-50-amd64 (x86_64)');
    assert.equal(readFileSync(join(lib, 'updates', 'hello.ko'), 'utf8'), 'built module');
    assert.ok(!existsSync(join(lib, 'updates', '.hello.ko.dkms-1.tmp')));
    assert.equal(readlinkSync(join(moduleDir, `kernel-${K}-x86_64`)), `1.0/${K}/x86_64`);
    assert.ok(!existsSync(journalPath(moduleDir)));
    assert.match(
      reporter.text(),
      /An earlier install of hello\/1\.0 .* was interrupted; completing it first\./,
    );
  });

  it('rolls back an interrupted plan whose remaining step can no longer be done', async () => {
    const steps = installSteps();
    for (const step of steps.slice(0, 2)) await performStep(ctx, step, { say: () => undefined });
    rmSync(built);
    writeJournal(journalPath(moduleDir), {
      version: 1,
      title: 'install of hello/1.0',
      pid: 1,
      onError: 'undo',
      mode: 'do',
      done: steps.slice(0, 2),
      remaining: steps.slice(2),
    });
    await recoverModule(ctx, 'hello');
    assert.equal(readFileSync(join(lib, 'kernel', 'hello.ko'), 'utf8'), 'original');
    assert.ok(!existsSync(join(moduleDir, `kernel-${K}-x86_64`)));
    assert.ok(!existsSync(journalPath(moduleDir)));
    assert.match(reporter.text(), /could not be completed/);
  });

  it('drops an unreadable journal with a warning', async () => {
    mkdirSync(moduleDir, { recursive: true });
    writeFileSync(journalPath(moduleDir), '{"version":1,');
    assert.equal(readJournal(journalPath(moduleDir)), 'unreadable');
    await recoverModule(ctx, 'hello');
    assert.ok(!existsSync(journalPath(moduleDir)));
    assert.match(reporter.text(), /cannot be read/);
  });

  it('runs every step twice to the same result (a replay after a crash)', async () => {
    const steps = installSteps();
    const out = { say: () => undefined };
    for (const step of steps) {
      await performStep(ctx, step, out);
      await performStep(ctx, step, out);
    }
    assert.equal(readFileSync(join(lib, 'updates', 'hello.ko'), 'utf8'), 'built module');
    const saved = join(moduleDir, 'original_module', K, 'x86_64', 'hello.ko');
    assert.equal(readFileSync(saved, 'utf8'), 'original');
    const undo = steps.reverse().flatMap((s) => inverseOf(s, moduleDir));
    for (const step of undo) {
      await performStep(ctx, step, out);
      await performStep(ctx, step, out);
    }
    assert.equal(readFileSync(join(lib, 'kernel', 'hello.ko'), 'utf8'), 'original');
    assert.ok(!existsSync(join(moduleDir, 'original_module')));
    assert.ok(!existsSync(join(lib, 'updates')));
  });

  it('discards a build in one rename and prunes what is left', async () => {
    const kernelDir = join(moduleDir, '1.0', K);
    const out = { say: () => undefined };
    await performStep(
      ctx,
      { kind: 'discardDir', path: join(kernelDir, 'x86_64'), aside: join(kernelDir, '.tmp_x') },
      out,
    );
    assert.ok(!existsSync(join(kernelDir, 'x86_64')));
    assert.ok(!existsSync(join(kernelDir, '.tmp_x')));
    await performStep(ctx, { kind: 'pruneKernelDir', path: kernelDir }, out);
    assert.ok(!existsSync(kernelDir));
  });
});

describe('litter', () => {
  it('finds staging dirs, journal and link temporaries, and emptied kernel dirs', () => {
    const root = mkdtempSync(join(tmpdir(), 'dkms-litter.'));
    try {
      const ctx = createContext({
        paths: { ...defaultPaths(), dkmsTree: root },
        framework: {},
        parallelJobs: 1,
        reporter: new MemoryReporter(),
      });
      const m = join(root, 'hello');
      mkdirSync(join(m, '1.0', K, '.tmp_x86_64_123_abc', 'log'), { recursive: true });
      mkdirSync(join(m, '1.0', '6.1.0-47-amd64', 'x86_64', 'module'), { recursive: true });
      mkdirSync(join(m, '1.0', '6.1.0-47-amd64', '.tmp_x86_64_removed_9'), { recursive: true });
      mkdirSync(join(m, '1.0', 'build'), { recursive: true });
      writeFileSync(join(m, '.dkms-journal.tmp'), '{');
      writeFileSync(join(m, `.kernel-${K}-x86_64.dkms-77.tmp`), '');
      assert.deepEqual(findModuleLitter(ctx.tree, 'hello').sort(), [
        join(m, '.dkms-journal.tmp'),
        join(m, `.kernel-${K}-x86_64.dkms-77.tmp`),
        join(m, '1.0', '6.1.0-47-amd64', '.tmp_x86_64_removed_9'),
        join(m, '1.0', K),
        join(m, '1.0', K, '.tmp_x86_64_123_abc'),
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
