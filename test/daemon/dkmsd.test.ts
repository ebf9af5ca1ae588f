import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { ARCH, K50, dkms, haveHeaders, makeRoots, run, type Roots } from '../helpers/roots.js';
import {
  DkmsdProcess,
  dkmsd,
  recorder,
  writeDaemonConfig,
  type LogRecord,
} from './helpers/dkmsdProcess.js';
import { exchange } from './helpers/rawSocket.js';

const MODULES = ['hello-1.0', 'depsa-1.0', 'depsb-1.0', 'obsolete-1.0', 'broken-1.0'];
const lines = (path: string): string[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
const builds = (daemon: DkmsdProcess, msg: string): LogRecord[] =>
  daemon.named(msg).filter((record) => record['kernel'] === K50);

describe(
  'dkmsd: a new kernel appears',
  { skip: !haveHeaders(K50) && 'no headers for 6.1.0-50-amd64' },
  () => {
    let roots: Roots;
    let config: { file: string; socket: string };
    let initramfs: { script: string; calls: string };
    let udev: { script: string; calls: string };
    let daemon: DkmsdProcess;
    const env = { DKMS_RUNNING_KERNEL: K50 };
    const socketArgs = (): string[] => ['--socket', config.socket];

    before(async () => {
      // No kernel at first: the daemon starts with nothing to do, then 6.1.0-50 shows up.
      roots = makeRoots([]);
      for (const fixture of MODULES) {
        roots.addFixture(fixture);
        const added = await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')]);
        assert.equal(added.code, 0, added.stderr);
      }
      initramfs = recorder(roots, 'initramfs');
      udev = recorder(roots, 'udev');
      config = writeDaemonConfig(roots, {
        initramfs_command: initramfs.script,
        udev_command: udev.script,
        concurrency: '2',
      });
      daemon = new DkmsdProcess(config.file, env);
      await daemon.waitFor(
        (record) => record.msg === 'catch-up finished',
        'the end of the boot catch-up',
      );
    });

    after(async () => {
      await daemon.stop();
      roots.cleanup();
    });

    it('answers status on its socket, which is mode 0600', async () => {
      assert.equal(statSync(config.socket).mode & 0o777, 0o600);
      const status = await dkmsd(['status', '--json', ...socketArgs()]);
      assert.equal(status.code, 0, status.stderr);
      const parsed = JSON.parse(status.stdout) as {
        state: string;
        pid: number;
        kernels: unknown[];
      };
      assert.equal(parsed.pid, daemon.pid);
      assert.equal(parsed.state, 'idle');
      assert.deepEqual(parsed.kernels, []);
    });

    it('answers garbage with errors and keeps running', async () => {
      assert.match(
        (await exchange(config.socket, 'this is not json\n'))[0] ?? '',
        /"code":"BAD_JSON"/,
      );
      assert.match(
        (await exchange(config.socket, '{"type":"kernel-added","kernel":"../../etc"}\n'))[0] ?? '',
        /"code":"BAD_REQUEST".*kernel/,
      );
      assert.match(
        (await exchange(config.socket, '{"type":"reboot"}\n'))[0] ?? '',
        /"code":"BAD_REQUEST"/,
      );
      // Over the 64 KiB limit yet small enough for the socket buffers to take it whole: the
      // daemon stops reading, answers and closes, and the client is not cut off mid-write.
      assert.match(
        (await exchange(config.socket, Buffer.alloc(100_000, 'x')))[0] ?? '',
        /"code":"TOO_LARGE"/,
      );
      const two = await exchange(config.socket, '{"type":"status"}\n[1,2]\n');
      assert.equal(two.length, 2);
      assert.match(two[0] ?? '', /"type":"status"/);
      assert.match(two[1] ?? '', /"code":"BAD_REQUEST"/);
      assert.equal((await dkmsd(['status', ...socketArgs()])).code, 0);
    });

    it('builds the new kernel: kernel-added --wait returns when it is finished, with the failure and its log', async () => {
      roots.addKernel(K50);
      const poke = await dkmsd([
        'notify',
        'kernel-added',
        K50,
        '--wait',
        '--timeout',
        '300',
        ...socketArgs(),
      ]);
      // broken-1.0 fails to compile: the daemon reports it (exit 1), with its make.log
      assert.equal(poke.code, 1, `${poke.stdout}\n${poke.stderr}\n${daemon.tail()}`);
      assert.match(poke.stderr, /broken\/1\.0 failed for 6\.1\.0-50-amd64/);
      const logPath = /log: (\S+)/.exec(poke.stderr)?.[1] ?? '';
      // the failed build's log, kept per kernel beside dkms's build/make.log
      assert.equal(logPath, join(roots.tree, 'broken', '1.0', `.failed-${K50}-${ARCH}.make.log`));
      assert.match(readFileSync(logPath, 'utf8'), /error: expected/);
      assert.match(poke.stdout, /obsolete\/1\.0 skipped/);
      // Returned after the kernel was finished: modules.dep and the initramfs are done.
      const dep = readFileSync(join(roots.lib, K50, 'modules.dep'), 'utf8');
      for (const module of ['hello', 'depsa', 'depsb'])
        assert.match(dep, new RegExp(`updates/dkms/${module}\\.ko`));
      assert.doesNotMatch(dep, /broken|obsolete/);
      assert.deepEqual(lines(initramfs.calls), [K50]);
      // one log record for the failure, at err, with its code, log and the output's tail
      const failures = daemon.logs.filter((r) => r['module'] === 'broken' && r.level >= 40);
      assert.deepEqual(
        failures.map((r) => [r.msg, r.level, r['code'], r['logPath']]),
        [['build finished', 50, 'BUILD_FAILED', logPath]],
      );
      assert.ok(Array.isArray(failures[0]?.['output']), JSON.stringify(failures[0]));
    });

    it('installed the good modules with the right vermagic, in dependency order', async () => {
      const tree = assertTree(roots);
      for (const module of ['hello', 'depsa', 'depsb']) {
        tree.installed(module, '1.0', K50);
        const ko = tree.moduleFile(K50, `updates/dkms/${module}.ko`);
        const vermagic = await run('modinfo', ['-F', 'vermagic', ko]);
        assert.match(vermagic.stdout, new RegExp(`^${K50.replace(/\./g, '\\.')} `));
      }
      tree.notBuilt('obsolete', '1.0', K50);
      tree.notInstalled('broken', K50);
      const finished = daemon.logs.findIndex(
        (r) => r.msg === 'build finished' && r['module'] === 'depsa' && r['kernel'] === K50,
      );
      const started = daemon.logs.findIndex(
        (r) => r.msg === 'build started' && r['module'] === 'depsb' && r['kernel'] === K50,
      );
      assert.ok(finished !== -1 && started > finished, 'depsb started before depsa was installed');
      const status = await dkms(roots, ['status', '-k', K50]);
      assert.match(status.stdout, new RegExp(`^depsb/1\\.0, ${K50}, ${ARCH}: installed$`, 'm'));
    });

    it('ran depmod and the initramfs once, udev once for the running kernel', async () => {
      // The watcher saw the kernel too; whatever it did joined the run or found nothing to do.
      await daemon.waitFor(
        (r) => r.msg === 'kernel finished' && r['kernel'] === K50,
        'the kernel finished',
      );
      const idle = await dkmsd(['status', '--json', ...socketArgs()]);
      assert.equal((JSON.parse(idle.stdout) as { state: string }).state, 'idle', idle.stdout);
      assert.deepEqual(lines(initramfs.calls), [K50]);
      assert.deepEqual(lines(udev.calls), [K50]);
      assert.equal(
        builds(daemon, 'build started').length,
        4,
        'hello, depsa, depsb, broken: each built once',
      );
    });

    it('shows the kernel and the remembered failure in status', async () => {
      const status = await dkmsd(['status', '--json', ...socketArgs()]);
      const parsed = JSON.parse(status.stdout) as {
        kernels: {
          kernel: string;
          lastOutcome?: { result: string; failed: { module: string; logPath?: string }[] };
        }[];
        rememberedFailures: { module: string; kernel: string }[];
      };
      const kernel = parsed.kernels.find((k) => k.kernel === K50);
      assert.ok(kernel?.lastOutcome, status.stdout);
      assert.deepEqual(
        parsed.rememberedFailures.map((f) => `${f.module}@${f.kernel}`),
        [`broken@${K50}`],
      );
      const human = await dkmsd(['status', ...socketArgs()]);
      assert.match(human.stdout, /broken\/1\.0 for 6\.1\.0-50-amd64/);
    });

    it('builds nothing after a restart when everything is done (the failed module is not retried)', async () => {
      assert.equal(await daemon.stop(), 0);
      const failedLogPath = join(roots.tree, 'broken', '1.0', 'build', 'make.log');
      const failedLog = readFileSync(failedLogPath, 'utf8');
      daemon = new DkmsdProcess(config.file, env);
      const caughtUp = await daemon.waitFor(
        (r) => r.msg === 'catch-up finished',
        'the end of the boot catch-up',
      );
      assert.deepEqual(caughtUp['kernels'], [K50]);
      assert.equal(caughtUp['installed'], 0);
      assert.equal(daemon.named('build started').length, 0);
      assert.equal(readFileSync(failedLogPath, 'utf8'), failedLog);
      assert.deepEqual(lines(initramfs.calls), [K50]);
    });

    it('cleans the dkms tree when the kernel directory is removed', async () => {
      rmSync(join(roots.lib, K50), { recursive: true, force: true });
      await daemon.waitFor(
        (r) => r.msg === 'kernel removed' && r['kernel'] === K50,
        'the removal of 6.1.0-50-amd64',
      );
      const tree = assertTree(roots);
      for (const module of ['hello', 'depsa', 'depsb']) {
        tree.notInstalled(module, K50);
        tree.notBuilt(module, '1.0', K50);
        tree.added(module, '1.0');
      }
      const status = await dkms(roots, ['status']);
      assert.doesNotMatch(status.stdout, /6\.1\.0-50/);
    });
  },
);
