import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { MemoryReporter } from '../../src/core/host.js';
import { createContext } from '../../src/core/context.js';
import { runDoctor, type DoctorProbes } from '../../src/doctor/doctor.js';
import type { Finding } from '../../src/doctor/findings.js';
import { systemInitramfsLister } from '../../src/doctor/initramfs.js';
import type { DoctorDocument } from '../../src/doctor/report.js';
import { splitSignature } from '../../src/sign/moduleSignature.js';
import { loadSchema, validate } from '../status/jsonSchema.js';
import {
  K47,
  K50,
  dkms,
  makeRoots,
  run,
  sandboxPaths,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';

const skip = skipWithoutHeaders;
const lister = systemInitramfsLister();
const noInitramfsTools = lister.tool
  ? false
  : 'lsinitramfs/lsinitrd not installed (initramfs-tools-core)';
const HELLO = 'updates/dkms/hello.ko';

const problems = (findings: Finding[]): Finding[] =>
  findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
const only = (findings: Finding[], severity: Finding['severity']): string[] =>
  findings.filter((f) => f.severity === severity).map((f) => `${f.check} ${f.kernel ?? ''}`.trim());

/** A cpio (newc) initramfs image, gzipped like Debian's, holding `files` (path in image -> source). */
async function makeInitramfs(
  image: string,
  files: Record<string, string>,
  scratch: string,
): Promise<void> {
  const root = join(scratch, 'initramfs-root');
  await run('rm', ['-rf', root]);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    copyFileSync(source, join(root, path));
  }
  mkdirSync(root, { recursive: true });
  const r = await run('bash', [
    '-c',
    `cd ${root} && find . | cpio -o -H newc --quiet | gzip > ${image}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
}

describe('dkms doctor on real modules', { skip }, () => {
  let roots: Roots;
  let boot: string;
  const saved: Record<string, Buffer> = {};
  const installed = (kernel: string): string => join(roots.lib, kernel, HELLO);
  const probes = (secureBoot: Partial<DoctorProbes['secureBoot']> = {}): Partial<DoctorProbes> => ({
    secureBoot: {
      state: () => Promise.resolve('disabled'),
      enrollment: () => Promise.resolve('unknown'),
      ...secureBoot,
    },
  });
  const doctor = (
    kernels?: string[],
    extra: Partial<DoctorProbes> = probes(),
  ): Promise<Finding[]> => {
    const ctx = createContext({
      paths: sandboxPaths(roots, { bootDir: boot }),
      framework: {},
      parallelJobs: 1,
      reporter: new MemoryReporter(),
    });
    return runDoctor(ctx, { kernels, probes: extra });
  };
  const cli = (args: string[]) => dkms(roots, ['doctor', ...args], { DKMS_BOOTDIR: boot });

  before(async () => {
    roots = makeRoots([K47, K50]);
    boot = join(roots.root, 'boot');
    mkdirSync(boot);
    roots.addFixture('hello-1.0');
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    for (const kernel of [K47, K50]) {
      saved[installed(kernel)] = readFileSync(installed(kernel));
      saved[join(roots.lib, kernel, 'modules.dep')] = readFileSync(
        join(roots.lib, kernel, 'modules.dep'),
      );
    }
  });
  afterEach(async () => {
    for (const [path, content] of Object.entries(saved)) writeFileSync(path, content);
    await run('rm', [
      '-rf',
      boot,
      join(roots.lib, K50, 'kernel'),
      join(roots.lib, K50, 'modules.builtin'),
    ]);
    mkdirSync(boot);
  });
  after(() => roots.cleanup());

  it('finds nothing wrong with a healthy tree, and exits 0', async () => {
    const findings = await doctor();
    assert.deepEqual(problems(findings), []);
    for (const check of [
      'vermagic',
      'built-matches-installed',
      'signature',
      'compression',
      'modules-dep',
      'shadowing',
    ]) {
      assert.equal(
        findings.filter((f) => f.check === check && f.severity === 'ok' && f.module === 'hello')
          .length,
        2,
        `${check} ok for both kernels`,
      );
    }
    const r = await cli([]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^dkms doctor: no problems found/m);
  });

  it('catches a module built for 6.1.0-47 copied into 6.1.0-50', async () => {
    copyFileSync(installed(K47), installed(K50));
    const findings = await doctor([K50]);
    assert.deepEqual(only(findings, 'error'), [
      `vermagic ${K50}`,
      `built-matches-installed ${K50}`,
    ]);
    const vermagic = findings.find((f) => f.check === 'vermagic' && f.severity === 'error');
    assert.match(vermagic?.message ?? '', /built for 6\.1\.0-47-amd64, not 6\.1\.0-50-amd64/);
    assert.equal(vermagic?.fix, `dkms install --force hello/1.0 -k ${K50}`);
    const r = await cli(['-k', K50]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^ERROR +hello\/1\.0, 6\.1\.0-50-amd64: \[vermagic\]/m);
    assert.match(r.stdout, /^ +fix: dkms install --force hello\/1\.0 -k 6\.1\.0-50-amd64$/m);
  });

  it('catches a tampered installed file: differs from the built one, and its signature breaks', async () => {
    const content = readFileSync(installed(K47));
    const at = Math.floor(content.length / 3);
    content[at] = (content[at] ?? 0) ^ 0xff;
    writeFileSync(installed(K47), content);
    const findings = await doctor([K47]);
    assert.deepEqual(only(findings, 'error'), [
      `built-matches-installed ${K47}`,
      `signature ${K47}`,
    ]);
    assert.match(
      findings.find((f) => f.check === 'signature')?.message ?? '',
      /does not match its content/,
    );
  });

  it('catches an unsigned module where the kernel wants signatures', async () => {
    const signed = splitSignature(readFileSync(installed(K50)));
    assert.ok(signed);
    writeFileSync(installed(K50), signed.content);
    const findings = await doctor([K50]);
    const signature = findings.find((f) => f.check === 'signature');
    assert.equal(signature?.severity, 'error');
    assert.match(
      signature?.message ?? '',
      /is not signed, but 6\.1\.0-50-amd64 wants signed modules/,
    );
    assert.equal(
      signature?.fix,
      `dkms unbuild hello/1.0 -k ${K50} && dkms install hello/1.0 -k ${K50}`,
    );
  });

  it('catches a module missing from modules.dep, and one another module shadows', async () => {
    const dep = join(roots.lib, K50, 'modules.dep');
    writeFileSync(dep, readFileSync(dep, 'utf8').replace(/^updates\/dkms\/hello\.ko:.*\n/m, ''));
    let findings = await doctor([K50]);
    const missing = findings.find((f) => f.check === 'modules-dep' && f.severity === 'error');
    assert.match(
      missing?.message ?? '',
      /updates\/dkms\/hello\.ko is not listed in .*modules\.dep/,
    );
    assert.equal(missing?.fix, `depmod -a -b ${roots.root} ${K50}`);

    mkdirSync(join(roots.lib, K50, 'kernel/drivers/misc'), { recursive: true });
    copyFileSync(installed(K50), join(roots.lib, K50, 'kernel/drivers/misc/hello.ko'));
    writeFileSync(dep, `kernel/drivers/misc/hello.ko:\n${readFileSync(dep, 'utf8')}`);
    findings = await doctor([K50]);
    assert.deepEqual(only(findings, 'error'), [`shadowing ${K50}`]);
    assert.match(
      findings.find((f) => f.check === 'shadowing')?.fix ?? '',
      /override hello \* updates\/dkms/,
    );

    writeFileSync(join(roots.lib, K50, 'modules.builtin'), 'kernel/drivers/misc/hello.ko\n');
    findings = await doctor([K50]);
    assert.match(
      findings.find((f) => f.check === 'shadowing')?.message ?? '',
      /has hello built in/,
    );
  });

  it('flags Secure Boot with an unenrolled certificate, naming the mokutil command', async () => {
    const findings = await doctor(
      undefined,
      probes({
        state: () => Promise.resolve('enabled'),
        enrollment: () => Promise.resolve('not-enrolled'),
      }),
    );
    const secureBoot = findings.find((f) => f.check === 'secure-boot');
    assert.equal(secureBoot?.severity, 'error');
    assert.equal(
      secureBoot?.fix,
      `mokutil --import ${join(roots.tree, 'mok.pub')}, then reboot and confirm the key in the MOK manager.`,
    );
  });

  it(
    'checks the initramfs: missing where another kernel has it, or stale',
    { skip: noInitramfsTools },
    async () => {
      await makeInitramfs(
        join(boot, `initrd.img-${K47}`),
        { [`usr/lib/modules/${K47}/${HELLO}`]: installed(K47) },
        roots.root,
      );
      await makeInitramfs(
        join(boot, `initrd.img-${K50}`),
        { 'usr/bin/placeholder': join(roots.src, 'hello-1.0', 'dkms.conf') },
        roots.root,
      );
      let findings = await doctor(undefined, { ...probes(), initramfs: lister });
      assert.deepEqual(only(findings, 'error'), [`initramfs ${K50}`]);
      const missing = findings.find((f) => f.check === 'initramfs' && f.severity === 'error');
      assert.match(missing?.message ?? '', /in the initramfs of 6\.1\.0-47-amd64 but not in/);
      assert.equal(missing?.fix, `update-initramfs -u -k ${K50}`);

      // an older, different-sized hello.ko in the image
      const old = join(roots.root, 'old-hello.ko');
      writeFileSync(old, splitSignature(readFileSync(installed(K50)))?.content ?? Buffer.alloc(0));
      await makeInitramfs(
        join(boot, `initrd.img-${K50}`),
        { [`usr/lib/modules/${K50}/${HELLO}`]: old },
        roots.root,
      );
      findings = await doctor([K50], { ...probes(), initramfs: lister });
      assert.match(
        findings.find((f) => f.check === 'initramfs' && f.severity === 'error')?.message ?? '',
        /holds another hello/,
      );
    },
  );

  it('says "unknown" for the initramfs when no listing tool exists', async () => {
    const findings = await doctor([K47], {
      ...probes(),
      initramfs: { tool: undefined, list: () => Promise.resolve({ error: 'none' }) },
    });
    const initramfs = findings.find((f) => f.check === 'initramfs');
    assert.equal(initramfs?.severity, 'unknown');
    assert.ok(initramfs?.fix);
  });

  it('says whether module builds run in the sandbox, as a build here would', async () => {
    const sandbox = async (env: Record<string, string>) => {
      const r = await dkms(roots, ['doctor', '--json'], { DKMS_BOOTDIR: boot, ...env });
      const document = JSON.parse(r.stdout) as DoctorDocument;
      return document.findings.filter((f) => f.check === 'sandbox');
    };
    const [missing, ...more] = await sandbox({ DKMS_BWRAP: join(roots.root, 'no-bwrap') });
    assert.deepEqual(more, []);
    assert.equal(missing?.severity, 'warning');
    assert.match(missing?.fix ?? '', /^Install bubblewrap/);
    if (existsSync('/usr/bin/bwrap'))
      assert.equal((await sandbox({ DKMS_BWRAP: '/usr/bin/bwrap' }))[0]?.severity, 'ok');
  });

  it('prints JSON that validates against docs/dkms-doctor.schema.json', async () => {
    copyFileSync(installed(K47), installed(K50));
    const r = await cli(['--json']);
    assert.equal(r.code, 1);
    const document = JSON.parse(r.stdout) as DoctorDocument;
    assert.deepEqual(validate(loadSchema('dkms-doctor.schema.json'), document), []);
    assert.equal(document.exitCode, 1);
    assert.deepEqual(document.kernels, [K47, K50]);
    assert.ok(document.summary.error >= 2);
    assert.ok(
      document.findings.some(
        (f) => f.check === 'vermagic' && f.severity === 'error' && f.kernel === K50,
      ),
    );
  });
});
