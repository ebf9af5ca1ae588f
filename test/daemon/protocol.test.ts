import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDaemonArgs, UsageError } from '../../src/daemon/cliArgs.js';
import { exitStatusFor } from '../../src/daemon/client/exitStatus.js';
import { formatOutcomes } from '../../src/daemon/client/format.js';
import { LineDecoder } from '../../src/protocol/framing.js';
import { requestSchema, type KernelOutcome } from '../../src/protocol/messages.js';

const outcome = (
  result: KernelOutcome['result'],
  failed: KernelOutcome['failed'] = [],
): KernelOutcome => ({
  kernel: '6.1.0-50-amd64',
  arch: 'x86_64',
  result,
  installed: [{ module: 'hello', version: '1.0' }],
  alreadyInstalled: [],
  skipped: [],
  failed,
  broken: [],
  depmod: { status: 'ran' },
  initramfs: { status: 'ran' },
  udev: { status: 'not-needed' },
  startedAt: 't0',
  finishedAt: 't1',
});

describe('the request schema', () => {
  it('accepts the five requests and fills in defaults', () => {
    assert.deepEqual(requestSchema.parse({ type: 'kernel-added', kernel: '6.1.0-50-amd64' }), {
      type: 'kernel-added',
      kernel: '6.1.0-50-amd64',
      wait: false,
      retryFailed: false,
    });
    assert.equal(
      requestSchema.parse({ type: 'module-added', module: 'nvidia', version: '535.1', wait: true })
        .type,
      'module-added',
    );
    assert.equal(requestSchema.parse({ type: 'status' }).type, 'status');
  });
  it('rejects unknown types, extra keys and names that are paths', () => {
    for (const bad of [
      { type: 'kernel-added', kernel: '../../etc' },
      { type: 'kernel-added', kernel: '6.1 0' },
      { type: 'kernel-added', kernel: '6.1.0', evil: true },
      { type: 'module-added', module: 'a/b', version: '1' },
      { type: 'module-added', module: '-rf', version: '1' },
      { type: 'shutdown' },
      [],
      null,
    ]) {
      assert.equal(requestSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('LineDecoder', () => {
  it('splits lines across chunks and refuses a line over the limit', () => {
    const decoder = new LineDecoder(10);
    assert.deepEqual(decoder.push(Buffer.from('{"a":')), []);
    assert.deepEqual(decoder.push(Buffer.from('1}\n{}\n{')), ['{"a":1}', '{}']);
    assert.equal(decoder.push(Buffer.from('xxxxxxxxxxxx')), 'too-large');
  });
});

describe('dkmsd exit statuses (the hooks rely on them)', () => {
  it('0 accepted or all well, 1 failures, 3 no daemon or work cancelled', () => {
    assert.equal(
      exitStatusFor({ kind: 'reply', response: { type: 'accepted', kernels: ['K'] } }),
      0,
    );
    assert.equal(
      exitStatusFor({ kind: 'reply', response: { type: 'finished', kernels: [outcome('ok')] } }),
      0,
    );
    assert.equal(
      exitStatusFor({
        kind: 'reply',
        response: { type: 'finished', kernels: [outcome('ok'), outcome('failed')] },
      }),
      1,
    );
    assert.equal(
      exitStatusFor({
        kind: 'reply',
        response: { type: 'finished', kernels: [outcome('aborted')] },
      }),
      3,
    );
    assert.equal(exitStatusFor({ kind: 'unreachable', reason: 'ENOENT' }), 3);
    assert.equal(exitStatusFor({ kind: 'closed' }), 3);
    assert.equal(
      exitStatusFor({
        kind: 'reply',
        response: { type: 'error', code: 'SHUTTING_DOWN', message: '' },
      }),
      3,
    );
    assert.equal(
      exitStatusFor({
        kind: 'reply',
        response: { type: 'error', code: 'NOT_PERMITTED', message: '' },
      }),
      1,
    );
    assert.equal(exitStatusFor({ kind: 'timeout', seconds: 5 }), 1);
  });
  it('prints failures with their make.log', () => {
    const text = formatOutcomes([
      outcome('failed', [
        {
          module: 'broken',
          version: '1.0',
          code: 'BUILD_FAILED',
          message: 'Bad return status\nmore',
          logPath: '/var/lib/dkms/broken/1.0/build/make.log',
          remembered: false,
        },
      ]),
    ]);
    assert.deepEqual(text.err, [
      'dkmsd: broken/1.0 failed for 6.1.0-50-amd64 (x86_64): Bad return status',
      '  log: /var/lib/dkms/broken/1.0/build/make.log',
    ]);
    assert.match(
      text.out[0] ?? '',
      /^6\.1\.0-50-amd64 \(x86_64\): failed; installed hello\/1\.0; failed broken\/1\.0; ran depmod, initramfs$/,
    );
  });
});

describe('dkmsd command line', () => {
  it('parses notify events with their options', () => {
    assert.deepEqual(
      parseDaemonArgs([
        'notify',
        'kernel-added',
        '6.1.0-50-amd64',
        '--wait',
        '--timeout',
        '90',
        '--socket',
        '/s',
      ]),
      {
        command: 'notify',
        request: { type: 'kernel-added', kernel: '6.1.0-50-amd64', wait: true, retryFailed: false },
        socket: '/s',
        timeoutSeconds: 90,
      },
    );
    assert.deepEqual(parseDaemonArgs(['notify', 'module-added', 'hello/1.0']).command, 'notify');
    assert.deepEqual(parseDaemonArgs(['run', '--config', '/etc/x.conf']), {
      command: 'run',
      configFile: '/etc/x.conf',
    });
    assert.deepEqual(parseDaemonArgs(['status', '--help']), { command: 'help', topic: 'status' });
  });
  it('turns every mistake into a usage error', () => {
    for (const argv of [
      ['notify'],
      ['notify', 'kernel-added'],
      ['notify', 'kernel-removed', 'K', '--wait'],
      ['run', 'extra'],
      ['status', '--timeout', 'x'],
      ['notify', 'kernel-added', 'K', '--timeout', '-1'],
      ['frobnicate'],
      ['status', '--bogus'],
    ]) {
      assert.throws(() => parseDaemonArgs(argv), UsageError, argv.join(' '));
    }
  });
});
