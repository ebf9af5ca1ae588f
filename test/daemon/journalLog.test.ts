import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseConfigFile } from '../../src/daemon/config/daemonConfig.js';
import { journalLine, syslogPriority } from '../../src/daemon/journalFormat.js';
import { journalDestination, resolveLogFormat, stdoutIsJournal } from '../../src/daemon/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'dkmsd-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('journald lines', () => {
  it('maps pino levels to syslog priorities', () => {
    assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2]);
  });

  it('says what a build did in one line with its priority', () => {
    const base = { module: 'hello', version: '1.0', kernel: '6.12.41+deb13-amd64', arch: 'x86_64' };
    assert.equal(
      journalLine({
        level: 30,
        msg: 'build finished',
        ...base,
        status: 'installed',
        durationMs: 912,
      }),
      '<6>build finished: hello/1.0 for 6.12.41+deb13-amd64: installed in 0.9 s',
    );
    assert.equal(
      journalLine({
        level: 50,
        msg: 'build finished',
        ...base,
        status: 'failed',
        durationMs: 1234,
        code: 'BUILD_FAILED',
        message: 'Bad return status for module build on kernel: 6.12.41+deb13-amd64 (x86_64)',
        logPath: '/var/lib/dkms/hello/1.0/build/make.log',
      }),
      '<3>build finished: hello/1.0 for 6.12.41+deb13-amd64: failed in 1.2 s: BUILD_FAILED: ' +
        'Bad return status for module build on kernel: 6.12.41+deb13-amd64 (x86_64); ' +
        'log: /var/lib/dkms/hello/1.0/build/make.log',
    );
  });

  it('summarises a kernel and the catch-up', () => {
    assert.equal(
      journalLine({
        level: 30,
        msg: 'kernel finished',
        kernel: 'K',
        result: 'failed',
        installed: ['a/1', 'b/2'],
        skipped: [],
        failed: [{ module: 'c/3', code: 'BUILD_FAILED', logPath: '/l', remembered: false }],
        depmod: 'ran',
        initramfs: 'not-needed',
        udev: 'disabled',
      }),
      '<6>kernel finished: K: failed; installed a/1, b/2; failed c/3 (BUILD_FAILED, log /l); ' +
        'depmod ran, initramfs not-needed, udev disabled',
    );
    assert.equal(
      journalLine({
        level: 30,
        msg: 'catch-up finished',
        kernels: ['K1', 'K2'],
        installed: 0,
        failed: 0,
        durationMs: 48,
        sinceProcessStartMs: 310,
      }),
      '<6>catch-up finished: kernels K1, K2; 0 installed, 0 failed in 0.0 s (0.3 s after start)',
    );
  });

  it('writes any other record as its message and key=value pairs, errors last, on one line', () => {
    assert.equal(
      journalLine({
        level: 50,
        time: 'x',
        pid: 7,
        msg: 'kernel run failed',
        kernel: 'K',
        err: { type: 'DkmsError', code: 'TREE', message: 'cannot read\nthe tree' },
      }),
      '<3>kernel run failed: kernel=K: TREE: cannot read | the tree',
    );
    assert.equal(
      journalLine({
        level: 30,
        msg: 'kernel finish steps',
        kernel: 'K',
        depmod: { status: 'ran' },
        udev: { status: 'not-needed' },
      }),
      '<6>kernel finish steps: kernel=K depmod=ran udev=not-needed',
    );
    assert.equal(
      journalLine({ level: 40, msg: 'watcher error', path: '/a b', output: ['x'] }),
      '<4>watcher error: path="/a b"',
    );
  });

  it('rewrites every record pino writes', () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug', base: {}, timestamp: false },
      journalDestination((line) => lines.push(line)),
    );
    logger.info({ kernel: 'K' }, 'kernel directory removed');
    logger.debug('quiet');
    logger.error({ err: new Error('boom') }, 'catch-up failed');
    assert.deepEqual(lines, [
      '<6>kernel directory removed: kernel=K\n',
      '<7>quiet\n',
      '<3>catch-up failed: boom\n',
    ]);
  });
});

describe('log format', () => {
  it('is journal only when JOURNAL_STREAM names the very stream stdout is', () => {
    const file = join(dir, 'out');
    const fd = openSync(file, 'w');
    try {
      const stat = fstatSync(fd, { bigint: true });
      assert.equal(stdoutIsJournal({ JOURNAL_STREAM: `${stat.dev}:${stat.ino}` }, fd), true);
      assert.equal(stdoutIsJournal({ JOURNAL_STREAM: `${stat.dev}:${stat.ino + 1n}` }, fd), false);
      assert.equal(stdoutIsJournal({}, fd), false);
    } finally {
      closeSync(fd);
    }
    assert.equal(
      resolveLogFormat('auto', () => true),
      'journal',
    );
    assert.equal(
      resolveLogFormat('auto', () => false),
      'json',
    );
    assert.equal(
      resolveLogFormat('json', () => true),
      'json',
    );
    assert.equal(
      resolveLogFormat('journal', () => false),
      'journal',
    );
  });

  it('is a dkmsd.conf key', () => {
    assert.equal(parseConfigFile('log_format = json\n', 'f').log_format, 'json');
    assert.throws(() => parseConfigFile('log_format = xml\n', 'f'), /log_format/);
  });

  it('follows JOURNAL_STREAM in a real process writing to a real stdout', () => {
    const logger = new URL('../../src/daemon/logger.js', import.meta.url).href;
    const script = `const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger('info', process.argv[1]);
      log.info({ kernel: 'K' }, 'kernel directory removed');`;
    const runWith = (format: string, journal: boolean): string => {
      const out = join(dir, `stdout-${format}-${journal}`);
      const fd = openSync(out, 'w');
      try {
        const stat = fstatSync(fd, { bigint: true });
        const env = { ...process.env, JOURNAL_STREAM: journal ? `${stat.dev}:${stat.ino}` : '' };
        execFileSync(process.execPath, ['--input-type=module', '-e', script, format], {
          env,
          stdio: ['ignore', fd, 'inherit'],
        });
      } finally {
        closeSync(fd);
      }
      return readFileSync(out, 'utf8');
    };
    assert.equal(runWith('auto', true), '<6>kernel directory removed: kernel=K\n');
    const json = JSON.parse(runWith('auto', false)) as Record<string, unknown>;
    assert.equal(json['msg'], 'kernel directory removed');
    assert.equal(json['level'], 30);
    assert.equal(typeof JSON.parse(runWith('json', true)), 'object');
  });
});
