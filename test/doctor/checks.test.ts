import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelFacts, ModuleFacts, ModuleFileFacts } from '../../src/doctor/facts.js';
import { doctorExitCode, type Finding } from '../../src/doctor/findings.js';
import { parseInitramfsListing } from '../../src/doctor/initramfs.js';
import {
  depmodCommand,
  kernelFindings,
  secureBootFindings,
} from '../../src/doctor/kernelChecks.js';
import { parseModinfo, vermagicRelease } from '../../src/doctor/modinfo.js';
import { moduleFindings } from '../../src/doctor/moduleChecks.js';
import { detectFormat } from '../../src/kernel/moduleImage.js';
import { moduleNameOf, parseModulesDep } from '../../src/doctor/modulesDep.js';
import { formatFindings } from '../../src/doctor/report.js';
import { sandboxFindings } from '../../src/doctor/sandboxChecks.js';
import { decideSandbox, exemptModules } from '../../src/engine/buildSandbox.js';
import type { FrameworkConf } from '../../src/core/framework.js';

const K = '6.1.0-50-amd64';
const CERT = '/var/lib/dkms/mok.pub';

function kernel(overrides: Partial<KernelFacts> = {}): KernelFacts {
  return {
    kernel: K,
    installTree: '/lib/modules',
    headersDir: `/lib/modules/${K}/build`,
    headersPresent: true,
    headersPackage: `linux-headers-${K}`,
    configPath: `/lib/modules/${K}/build/.config`,
    wantsSignatures: true,
    forcesSignatures: false,
    signing: {
      sign: true,
      hash: 'sha256',
      signFile: '/usr/lib/linux-kbuild-6.1/scripts/sign-file',
      mok: { key: '/var/lib/dkms/mok.key', certificate: CERT },
      generate: false,
    },
    certificate: {
      path: CERT,
      serial: 'AB',
      subject: 'CN=DKMS module signing key',
      commonName: 'DKMS module signing key',
    },
    expectedCompression: '',
    modulesDepPath: `/lib/modules/${K}/modules.dep`,
    modulesDep: new Map([['updates/dkms/hello.ko', []]]),
    builtin: new Set(),
    filesByName: new Map([['hello', ['updates/dkms/hello.ko']]]),
    initramfs: { status: 'no-image', bootDir: '/boot' },
    installedModules: 1,
    ...overrides,
  };
}

function file(overrides: Partial<ModuleFileFacts> = {}): ModuleFileFacts {
  return {
    destName: 'hello',
    name: 'hello',
    built: '/var/lib/dkms/hello/1.0/6.1.0-50-amd64/x86_64/module/hello.ko',
    installed: `/lib/modules/${K}/updates/dkms/hello.ko`,
    installedRelative: 'updates/dkms/hello.ko',
    installedSize: 1000,
    sameAsBuilt: true,
    format: 'elf',
    vermagic: `${K} SMP preempt mod_unload modversions`,
    builtVermagic: `${K} SMP preempt mod_unload modversions`,
    signer: 'DKMS module signing key',
    sigKey: 'AB',
    signature: 'valid',
    initramfsElsewhere: [],
    ...overrides,
  };
}

const module = (files: ModuleFileFacts[], overrides: Partial<ModuleFacts> = {}): ModuleFacts => ({
  module: 'hello',
  version: '1.0',
  kernel: K,
  arch: 'x86_64',
  broken: false,
  confError: undefined,
  files,
  ...overrides,
});

const notOk = (findings: Finding[]): string[] =>
  findings.filter((f) => f.severity !== 'ok').map((f) => `${f.severity} ${f.check}`);

describe('doctor checks (pure)', () => {
  it('passes a healthy module on every check', () => {
    const findings = moduleFindings(kernel(), module([file()]), 'x86_64');
    assert.deepEqual(notOk(findings), []);
    assert.deepEqual(
      findings.map((f) => f.check),
      [
        'installed-file',
        'vermagic',
        'built-matches-installed',
        'signature',
        'compression',
        'modules-dep',
        'shadowing',
      ],
    );
    assert.equal(doctorExitCode(findings), 0);
  });

  it('rebuilds when the built module is for the wrong kernel too', () => {
    const wrong = `6.1.0-47-amd64 SMP`;
    const [finding] = moduleFindings(
      kernel(),
      module([file({ vermagic: wrong, builtVermagic: wrong })]),
      'x86_64',
    ).filter((f) => f.check === 'vermagic');
    assert.equal(finding?.fix, `dkms unbuild hello/1.0 -k ${K} && dkms install hello/1.0 -k ${K}`);
  });

  it('grades signatures: other signer is a warning, invalid an error, nothing to check against unknown', () => {
    const grade = (signature: ModuleFileFacts['signature']): string[] =>
      notOk(moduleFindings(kernel(), module([file({ signature })]), 'x86_64'));
    assert.deepEqual(grade('other-signer'), ['warning signature']);
    assert.deepEqual(grade('invalid'), ['error signature']);
    assert.deepEqual(grade('no-certificate'), ['unknown signature']);
    assert.deepEqual(grade('unsigned'), ['error signature']);
    assert.deepEqual(
      notOk(
        moduleFindings(
          kernel({ wantsSignatures: false }),
          module([file({ signature: 'unsigned' })]),
          'x86_64',
        ),
      ),
      [],
      'no signature wanted, none checked',
    );
  });

  it('checks compression: the wrong kind is a warning, a name that lies is an error', () => {
    assert.deepEqual(
      notOk(moduleFindings(kernel({ expectedCompression: '.xz' }), module([file()]), 'x86_64')),
      ['warning compression'],
    );
    const lying = file({
      installed: `/lib/modules/${K}/updates/dkms/hello.ko.xz`,
      installedRelative: 'updates/dkms/hello.ko.xz',
      format: 'elf',
    });
    const findings = moduleFindings(
      kernel({
        expectedCompression: '.xz',
        modulesDep: new Map([['updates/dkms/hello.ko.xz', []]]),
      }),
      module([lying]),
      'x86_64',
    );
    assert.deepEqual(notOk(findings), ['error compression']);
  });

  it('warns about same-named modules when modules.dep cannot say which wins', () => {
    const k = kernel({
      modulesDep: undefined,
      filesByName: new Map([['hello', ['updates/dkms/hello.ko', 'kernel/misc/hello.ko.xz']]]),
    });
    assert.deepEqual(notOk(moduleFindings(k, module([file()]), 'x86_64')), ['warning shadowing']);
    assert.deepEqual(notOk(kernelFindings(k)), ['warning modules-dep', 'info initramfs']);
  });

  it('explains a missing installed file, a broken module and an unreadable conf', () => {
    assert.deepEqual(
      notOk(
        moduleFindings(
          kernel(),
          module([file({ installed: undefined, installedRelative: undefined })]),
          'x86_64',
        ),
      ),
      ['error installed-file'],
    );
    assert.deepEqual(notOk(moduleFindings(kernel(), module([], { broken: true }), 'x86_64')), [
      'error conf',
    ]);
    const conf = moduleFindings(kernel(), module([], { confError: 'Bad conf file.' }), 'x86_64');
    assert.match(conf[0]?.message ?? '', /Bad conf file/);
    assert.ok(conf[0]?.fix);
  });

  it('names -k KERNEL/ARCH in fixes for a foreign arch', () => {
    const [finding] = moduleFindings(
      kernel(),
      module([file({ sameAsBuilt: false })], { arch: 'i686' }),
      'x86_64',
    ).filter((f) => f.severity === 'error');
    assert.equal(finding?.fix, `dkms install --force hello/1.0 -k ${K}/i686`);
  });

  it('checks the kernel: headers, signing set-up, modules.dep', () => {
    assert.deepEqual(notOk(kernelFindings(kernel({ headersPresent: false }))), [
      'warning headers',
      'info initramfs',
    ]);
    assert.equal(
      kernelFindings(kernel({ headersPresent: false }))[0]?.fix,
      `Install the linux-headers-${K} package.`,
    );
    const noSignFile = kernel({
      signing: {
        sign: false,
        reason: "Binary /x/sign-file not found, modules won't be signed",
        signFile: '/x/sign-file',
      },
    });
    const [, signing] = kernelFindings(noSignFile);
    assert.equal(signing?.severity, 'warning');
    assert.match(signing?.fix ?? '', /linux-kbuild-6\.1/);
    assert.equal(kernelFindings(kernel({ certificate: undefined }))[1]?.severity, 'error');
    const noKey = (installedModules: number) =>
      kernelFindings(
        kernel({
          installedModules,
          signing: {
            sign: true,
            hash: 'sha256',
            signFile: '/s',
            mok: { key: '/k', certificate: '/c' },
            generate: true,
          },
        }),
      )[1]?.severity;
    assert.equal(noKey(1), 'warning');
    assert.equal(noKey(0), 'info', 'nothing installed: the first build makes the key');
  });

  it('says how to run depmod on the install tree in use', () => {
    assert.equal(depmodCommand('/lib/modules/', K), `depmod -a ${K}`);
    assert.equal(depmodCommand('/tmp/root/lib/modules', K), `depmod -a -b /tmp/root ${K}`);
    assert.match(depmodCommand('/srv/modules', K), /ln -sfn \/srv\/modules .*depmod -a -b/);
  });

  it('grades Secure Boot', () => {
    const sb = (
      state: 'enabled' | 'disabled' | 'unknown',
      enrollment: 'enrolled' | 'pending' | 'not-enrolled' | 'unknown',
    ) =>
      secureBootFindings({
        state,
        enrollment: state === 'enabled' ? [{ certificate: CERT, state: enrollment }] : [],
      }).map((f) => f.severity);
    assert.deepEqual(sb('disabled', 'unknown'), ['ok']);
    assert.deepEqual(sb('enabled', 'enrolled'), ['ok']);
    assert.deepEqual(sb('enabled', 'pending'), ['warning']);
    assert.deepEqual(sb('enabled', 'not-enrolled'), ['error']);
    assert.deepEqual(sb('enabled', 'unknown'), ['unknown']);
    assert.deepEqual(sb('unknown', 'unknown'), ['unknown']);
  });

  it('grades the build sandbox from the decision dkms makes for a build', () => {
    const grade = (
      framework: FrameworkConf,
      bwrap: Parameters<typeof decideSandbox>[0]['bwrap'],
    ): Finding | undefined =>
      sandboxFindings({
        decision: decideSandbox({ framework, module: '', bwrap }),
        exempt: exemptModules(framework),
      })[0];
    const works = { path: '/usr/bin/bwrap', works: true } as const;
    const ok = grade({ build_sandbox_exempt: 'zfs nvidia' }, works);
    assert.equal(ok?.severity, 'ok');
    assert.match(
      ok?.message ?? '',
      /in bubblewrap \(\/usr\/bin\/bwrap\).*unconfined for zfs, nvidia\.$/,
    );
    const missing = grade({}, { path: undefined, works: false, why: 'not installed' });
    assert.deepEqual(
      [missing?.severity, missing?.message, missing?.fix],
      [
        'warning',
        'Module builds run unconfined: bwrap is not installed.',
        'Install bubblewrap, or set build_sandbox=none in framework.conf.',
      ],
    );
    const refused = { path: '/usr/bin/bwrap', works: false, why: 'bwrap: No permissions' } as const;
    assert.match(
      grade({}, refused)?.fix ?? '',
      /^Let it create namespaces, or set build_sandbox=none/,
    );
    const demanded = grade({ build_sandbox: 'bwrap' }, refused);
    assert.equal(demanded?.severity, 'error');
    assert.match(
      demanded?.message ?? '',
      /^build_sandbox=bwrap is set .*: every module build fails\.$/,
    );
    assert.equal(grade({ build_sandbox: 'none' }, works)?.severity, 'info');
  });

  it('prints problems worst first with their fixes, and a summary', () => {
    const findings = [
      ...moduleFindings(
        kernel({ expectedCompression: '.xz' }),
        module([file({ sameAsBuilt: false })]),
        'x86_64',
      ),
    ];
    const lines = formatFindings(findings);
    assert.match(
      lines[0] ?? '',
      /^ERROR {3}hello\/1\.0, 6\.1\.0-50-amd64: \[built-matches-installed\]/,
    );
    assert.equal(lines[1], `        fix: dkms install --force hello/1.0 -k ${K}`);
    assert.match(lines[2] ?? '', /^WARNING hello\/1\.0, .*\[compression\]/);
    assert.equal(lines.at(-1), 'dkms doctor: 1 error, 1 warning, 0 unknown; 5 checks passed.');
    assert.ok(formatFindings(findings, { verbose: true }).some((l) => l.startsWith('OK ')));
  });
});

describe('doctor parsers', () => {
  it('reads modinfo output for several files, with the signature continued on tab lines', () => {
    const text = [
      'filename:       /tmp/a.ko',
      'vermagic:       6.1.0-47-amd64 SMP preempt mod_unload modversions ',
      'signer:         DKMS module signing key',
      'sig_key:        71:41:BA',
      'signature:      1E:00:67:',
      '\t\tE4:5A',
      'filename:       /tmp/b.ko',
      'alias:          x',
      'alias:          y',
      '',
    ].join('\n');
    const info = parseModinfo(text);
    assert.equal(info.get('/tmp/a.ko')?.get('signature'), '1E:00:67:E4:5A');
    assert.equal(vermagicRelease(info.get('/tmp/a.ko')?.get('vermagic')), '6.1.0-47-amd64');
    assert.equal(info.get('/tmp/b.ko')?.get('alias'), 'x');
    assert.equal(info.get('/tmp/b.ko')?.get('signer'), undefined);
  });

  it('reads lsinitramfs -l and lsinitrd listings', () => {
    const listing = [
      'drwxr-xr-x   3 root     root            0 Nov 22 00:32 usr/lib/modules',
      '-rw-r--r--   1 root     root         5925 Nov 22 00:32 usr/lib/modules/6.1.0-47-amd64/updates/dkms/hello.ko',
      '-rw-r--r--   1 root     root        12345 Jan  1  2024 usr/lib/modules/6.1.0-47-amd64/kernel/drivers/x-y.ko.xz',
      'lrwxrwxrwx   1 root     root            7 Jan  1  2024 bin -> usr/bin',
      'Image: /boot/initramfs-6.1.img: 30M',
      '========================================================================',
    ].join('\n');
    const entries = parseInitramfsListing(listing);
    assert.deepEqual(
      entries.find((e) => e.path.endsWith('hello.ko')),
      { path: 'usr/lib/modules/6.1.0-47-amd64/updates/dkms/hello.ko', size: 5925 },
    );
    assert.ok(entries.some((e) => e.path === 'bin'));
    assert.equal(moduleNameOf('kernel/drivers/x-y.ko.xz'), 'x_y');
  });

  it('reads modules.dep and recognizes module file formats', () => {
    const dep = parseModulesDep('kernel/a.ko:\nupdates/dkms/b.ko.xz: kernel/a.ko\n\n');
    assert.deepEqual(
      [...dep],
      [
        ['kernel/a.ko', []],
        ['updates/dkms/b.ko.xz', ['kernel/a.ko']],
      ],
    );
    assert.equal(detectFormat(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2])), 'elf');
    assert.equal(detectFormat(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), '.xz');
    assert.equal(detectFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), '.zst');
    assert.equal(detectFormat(Buffer.from([0x1f, 0x8b, 8])), '.gz');
    assert.equal(detectFormat(Buffer.from('hello')), 'unknown');
  });
});
