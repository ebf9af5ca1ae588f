import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bwrapArgs,
  probeBwrap,
  sandboxArgv,
  sandboxCommand,
  sandboxSigns,
  type SandboxSpec,
} from '../../src/core/sandbox.js';

const spec: SandboxSpec = {
  bwrap: '/usr/bin/bwrap',
  writableDir: '/var/lib/dkms/hello/1.0/build',
  readable: ['/tmp/t/src/hello-1.0'],
  masked: ['/var/lib/dkms/mok.key'],
};

/** The value after each occurrence of a bwrap option. */
const after1 = (args: string[], option: string): string[] =>
  args.flatMap((arg, i) => (arg === option ? [args.slice(i + 1, i + 3).join(' ')] : []));

describe('bwrap arguments', () => {
  const args = bwrapArgs(spec, '/var/lib/dkms/hello/1.0/build');

  it('mounts the system read-only, the build dir writable, /tmp and /run private', () => {
    assert.deepEqual(args.slice(0, 3), ['--ro-bind', '/', '/']);
    assert.deepEqual(after1(args, '--bind'), [`${spec.writableDir} ${spec.writableDir}`]);
    assert.ok(args.includes('/tmp') && args.includes('/run'));
    assert.deepEqual(
      args.flatMap((arg, i) => (arg === '--tmpfs' ? [args[i + 1]] : [])),
      ['/tmp', '/run'],
    );
    // the writable bind comes last among mounts, so no read-only mount covers it
    const lastMount = Math.max(
      ...['--ro-bind', '--bind', '--tmpfs'].map((o) => args.lastIndexOf(o)),
    );
    assert.equal(args[lastMount], '--bind');
  });

  it('keeps sysctls read-only, masks the signing key, cuts the network, drops capabilities', () => {
    assert.ok(after1(args, '--ro-bind').includes('/proc/sys /proc/sys'));
    assert.ok(after1(args, '--ro-bind').includes('/dev/null /var/lib/dkms/mok.key'));
    assert.ok(after1(args, '--ro-bind').includes('/tmp/t/src/hello-1.0 /tmp/t/src/hello-1.0'));
    for (const option of ['--unshare-all', '--die-with-parent'])
      assert.ok(args.includes(option), option);
    assert.ok(!args.includes('--share-net'));
    assert.deepEqual(after1(args, '--cap-drop'), ['ALL --setenv']);
    assert.deepEqual(after1(args, '--chdir'), ['/var/lib/dkms/hello/1.0/build']);
  });

  it('drops to the build user with setpriv before bwrap', () => {
    const argv = sandboxArgv({ ...spec, user: { uid: 65534, gid: 65534, setpriv: '/s' } }, '/', [
      'true',
    ]);
    assert.deepEqual(argv.slice(0, 5), [
      '/s',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '/usr/bin/bwrap',
    ]);
    assert.equal(argv.at(-1), 'true');
    assert.equal(sandboxArgv(spec, '/', ['true'])[0], '/usr/bin/bwrap');
  });

  it('quotes the command for the shell and execs it', () => {
    const line = sandboxCommand(spec, '/', `echo 'it''s' "$HOME"`);
    assert.match(line, /^exec '\/usr\/bin\/bwrap' /);
    assert.ok(line.endsWith(`'bash' '-c' 'echo '\\''it'\\'''\\''s'\\'' "$HOME"'`), line);
  });
});

describe('what a failed build says about the sandbox', () => {
  it('recognizes writes, network, permissions and bwrap itself', () => {
    assert.deepEqual(sandboxSigns('touch: cannot touch /etc/x: Read-only file system'), [
      'read-only',
    ]);
    assert.deepEqual(sandboxSigns('curl: (6) Could not resolve host: example.org'), ['network']);
    assert.deepEqual(sandboxSigns('bash: connect: Connection refused\n'), ['network']);
    assert.deepEqual(sandboxSigns('mkdir: cannot create directory: Permission denied'), [
      'permission',
    ]);
    assert.deepEqual(sandboxSigns("bwrap: Can't mount proc on /newroot/proc"), ['bwrap']);
    assert.deepEqual(sandboxSigns("hello.c:3:1: error: expected ';' before '}' token"), []);
  });
});

const sh = (command: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });

const bwrapHere = await probeBwrap('bwrap');
const skip = bwrapHere.ok ? false : `bwrap cannot run here: ${bwrapHere.why}`;

describe('real bwrap', { skip }, () => {
  let dir: string;
  let real: SandboxSpec;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dkms-sandbox.'));
    real = { bwrap: 'bwrap', writableDir: dir, readable: [], masked: [] };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes only the build dir and a private /tmp; no network, no other process', async () => {
    const inside = [
      'echo ok > built.txt',
      'echo tmp > /tmp/scratch && cat /tmp/scratch',
      'touch /var/tmp/dkms-escape 2>&1 || true',
      'echo 1 > /proc/sys/kernel/core_pattern 2>&1 || true',
      'exec 3<>/dev/tcp/127.0.0.1/9 2>&1 || true',
      'echo "processes=$(ls /proc | grep -c "^[0-9]")"',
    ].join('; ');
    const { code, out } = await sh(sandboxCommand(real, dir, inside));
    assert.equal(code, 0, out);
    assert.match(out, /^tmp$/m);
    assert.match(out, /\/var\/tmp\/dkms-escape.*Read-only file system/);
    assert.match(out, /core_pattern: Read-only file system/);
    assert.match(out, /Connection refused|Network is unreachable/);
    // bwrap's init, bash, a subshell, ls and grep: nothing of the host
    assert.ok(Number(/processes=(\d+)/.exec(out)?.[1]) <= 5, `processes visible: ${out}`);
    assert.equal(readFileSync(join(dir, 'built.txt'), 'utf8'), 'ok\n');
  });

  it("passes inherited descriptors through, so make's jobserver reaches the build", async () => {
    writeFileSync(
      join(dir, 'inner.mk'),
      'all: a b\na b:\n\t@echo $@ $(findstring jobserver,$(MAKEFLAGS))\n',
    );
    writeFileSync(join(dir, 'outer.mk'), 'all:\n\t+@bash -c "$$SANDBOXED"\n');
    const { code, out } = await sh(`cd ${dir} && make -s -j4 -f outer.mk`, {
      SANDBOXED: sandboxCommand(real, dir, 'make -s -f inner.mk'),
    });
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /jobserver unavailable/);
    assert.match(out, /^a jobserver$/m);
  });
});
