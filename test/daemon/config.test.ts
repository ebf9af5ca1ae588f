import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  parseConfigFile,
  resolveDaemonConfig,
} from '../../src/daemon/config/daemonConfig.js';

const resolve = (text: string, framework = {}, env: NodeJS.ProcessEnv = {}) =>
  resolveDaemonConfig(parseConfigFile(text, 'dkmsd.conf'), framework, {
    file: 'dkmsd.conf',
    confDir: '/etc/dkms',
    env,
  });

describe('dkmsd.conf', () => {
  it('takes its keys over framework.conf, and framework.conf over the defaults', () => {
    const config = resolve(
      'dkms_tree = /srv/dkms\nconcurrency = 3\ndebounce_ms = 250\nlog_level = debug\n',
      { source_tree: '/opt/src', parallel_jobs: '6' },
    );
    assert.equal(config.paths.dkmsTree, '/srv/dkms');
    assert.equal(config.paths.sourceTree, '/opt/src');
    assert.equal(config.paths.installTree, '/lib/modules');
    assert.equal(config.concurrency, 3);
    assert.equal(config.makeJobs, 6);
    assert.equal(config.debounceMs, 250);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.stateFile, '/srv/dkms/.dkmsd-failures.json');
    assert.equal(config.socket, '/run/dkms/dkmsd.sock');
    assert.equal(config.statusSocket, '/run/dkms/dkmsd-status.sock');
    assert.equal(config.stopTimeoutMs, 80_000);
  });
  it('puts the status socket beside the control socket unless told otherwise', () => {
    assert.equal(
      resolve('', {}, { DKMSD_SOCKET: '/tmp/x/control.sock' }).statusSocket,
      '/tmp/x/dkmsd-status.sock',
    );
    const both = resolve('socket = /a/c.sock\nstatus_socket = /b/s.sock\nstop_timeout = 5\n');
    assert.deepEqual(
      [both.socket, both.statusSocket, both.stopTimeoutMs],
      ['/a/c.sock', '/b/s.sock', 5000],
    );
    assert.throws(() => resolve('stop_timeout = 0\n'), ConfigError);
  });
  it('tells an unset command (detect the tool) from an empty one (disabled)', () => {
    assert.deepEqual(resolve('').initramfsCommand, { kind: 'auto' });
    assert.deepEqual(resolve('initramfs_command =\nudev_command =\n').initramfsCommand, {
      kind: 'disabled',
    });
    assert.deepEqual(resolve('initramfs_command =\nudev_command =\n').udevCommand, {
      kind: 'disabled',
    });
    assert.deepEqual(resolve('initramfs_command = /usr/bin/mkinitcpio -P\n').initramfsCommand, {
      kind: 'shell',
      command: '/usr/bin/mkinitcpio -P',
    });
  });
  it('reads autoinstall_all_kernels from either file, default yes', () => {
    assert.equal(resolve('').allKernels, true);
    assert.equal(resolve('autoinstall_all_kernels = no\n').allKernels, false);
    assert.equal(resolve('autoinstall_all_kernels = true\n').allKernels, true);
    assert.equal(resolve('', { autoinstall_all_kernels: '1' }).allKernels, true);
  });
  it('takes the socket from DKMSD_SOCKET when the file does not name one', () => {
    assert.equal(resolve('', {}, { DKMSD_SOCKET: '/tmp/d.sock' }).socket, '/tmp/d.sock');
    assert.equal(
      resolve('socket = /run/x.sock\n', {}, { DKMSD_SOCKET: '/tmp/d.sock' }).socket,
      '/run/x.sock',
    );
  });
  it('rejects unknown keys, sections, bad numbers and relative paths, naming the file', () => {
    assert.throws(
      () => parseConfigFile('concurency = 2\n', '/etc/dkms/dkmsd.conf'),
      (e: Error) =>
        e instanceof ConfigError && /dkmsd\.conf: unknown key\(s\) concurency/.test(e.message),
    );
    assert.throws(() => parseConfigFile('[main]\nsocket = /x\n', 'f'), ConfigError);
    assert.throws(
      () => parseConfigFile('concurrency = 0\n', 'f'),
      /concurrency: must be at least 1/,
    );
    assert.throws(() => parseConfigFile('debounce_ms = soon\n', 'f'), /debounce_ms/);
    assert.throws(() => parseConfigFile('dkms_tree = var/lib/dkms\n', 'f'), /absolute/);
    assert.throws(() => parseConfigFile('log_level = loud\n', 'f'), /log_level/);
  });
});
