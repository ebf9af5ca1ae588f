// RPM file triggers with the real rpm and rpmbuild: a package carrying hooks/rpm/dkms-triggers.spec
// and packages dropping files under /lib/modules/<kver>/, installed into a scratch --root. The
// dkmsd and dkms the trigger calls are recording stand-ins: what is tested is when rpm runs the
// trigger and what the trigger asks for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { repoRoot, run } from '../helpers/roots.js';
import { makeScratchRoot } from './helpers/scratchRoot.js';
import { fileLines, isRoot, which } from './helpers/system.js';

const K99 = '6.1.0-99-test';
const K98 = '6.1.0-98-test';
const K97 = '6.1.0-97-test';
/** One package per (part, kernel): `devel` drops build/Makefile, `core` modules.builtin. */
const PART_FILE = { devel: 'build/Makefile', core: 'modules.builtin' } as const;
type Part = keyof typeof PART_FILE;

const skip =
  (!isRoot() && 'rpm runs scriptlets chrooted into --root, which needs root') ||
  (!which('rpm') && 'rpm is not installed') ||
  (!which('rpmbuild') && 'rpmbuild is not installed') ||
  false;

const KERNEL_FILES_SPEC = `Name: dkmsts-%{part}-%{kver}
Version: 1.0
Release: 1
Summary: One file of kernel %{kver}, for the dkms-ts trigger test
License: GPL-2.0-or-later
BuildArch: noarch
%description
Drops /lib/modules/%{kver}/%{kfile}.
%install
mkdir -p "$(dirname %{buildroot}/lib/modules/%{kver}/%{kfile})"
echo '# dkms-ts trigger test' > %{buildroot}/lib/modules/%{kver}/%{kfile}
%files
/lib/modules/%{kver}/%{kfile}
`;

// The package that ships dkms-ts, reduced to its hooks, with the spec fragment as documented.
const TRIGGERS_SPEC = `Name: dkmsts-triggers
Version: 1.0
Release: 1
Summary: The dkms-ts RPM file triggers
License: GPL-2.0-or-later
BuildArch: noarch
%description
hooks/rpm/dkms-triggers.spec and the scripts it runs.
%install
mkdir -p %{buildroot}%{_prefix}/lib/dkms-ts/hooks/rpm %{buildroot}%{_prefix}/lib/dkms-ts/hooks/lib
install -m 0755 ${repoRoot}/hooks/rpm/dkms-rpm-trigger %{buildroot}%{_prefix}/lib/dkms-ts/hooks/rpm/
install -m 0644 ${repoRoot}/hooks/lib/dkms-hook-lib.sh ${repoRoot}/hooks/lib/dkms-hook-events.sh %{buildroot}%{_prefix}/lib/dkms-ts/hooks/lib/
%files
%{_prefix}/lib/dkms-ts
%include ${repoRoot}/hooks/rpm/dkms-triggers.spec
`;

// Inside the root: they record their arguments under /calls; `dkms status` prints /standin/status;
// the hooks' question for framework.conf's autoinstall_failure is answered, not recorded.
const STANDIN_DKMSD = '#!/bin/sh\necho "$*" >>/calls/dkmsd\nexit 0\n';
const STANDIN_DKMS =
  '#!/bin/sh\n[ "$*" != "readiness --policy" ] || { echo warn; exit 0; }\necho "$*" >>/calls/dkms\n[ "$1" != status ] || cat /standin/status\nexit 0\n';

describe('rpm: the dkms-ts file triggers in a scratch --root', { skip }, () => {
  let work: string;
  let root: string;
  let rpms: string;
  // The database where RPM distributions keep it (Debian's rpm defaults to ~/.rpmdb); Debian's
  // rpm also asks for --force-debian before it installs anything.
  let rpmArgs: string[];
  const daemonEnv = {
    DKMSD_BIN: '/standin/dkmsd',
    DKMS_BIN: '/standin/dkms',
    // --root is a chroot, where the hooks skip the daemon by default (last test).
    DKMS_HOOK_USE_DAEMON: 'yes',
  };
  const pkg = (part: Part, kernel: string): string =>
    join(rpms, 'noarch', `dkmsts-${part}-${kernel}-1.0-1.noarch.rpm`);
  const calls = (tool: 'dkms' | 'dkmsd'): string[] => fileLines(join(root, 'calls', tool));
  const rpm = async (args: string[], env: NodeJS.ProcessEnv = daemonEnv) => {
    const result = await run('rpm', [...rpmArgs, '--root', root, '--nodeps', ...args], env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /scriptlet failed|FAILED/);
    return result;
  };
  const rpmbuild = (name: string, spec: string, defines: Record<string, string> = {}): void => {
    const file = join(work, 'spec', `${name}.spec`);
    writeFileSync(file, spec);
    const args = Object.entries({ _topdir: join(work, 'rpmbuild'), ...defines }).flatMap(
      ([name, value]) => ['--define', `${name} ${value}`],
    );
    execFileSync('rpmbuild', ['-bb', '--quiet', ...args, file], { stdio: 'pipe' });
  };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'dkms-rpm.'));
    root = join(work, 'root');
    rpms = join(work, 'rpmbuild', 'RPMS');
    mkdirSync(join(work, 'spec'));
    rpmArgs = ['--dbpath', '/var/lib/rpm'];
    if (execFileSync('rpm', ['--help'], { encoding: 'utf8' }).includes('--force-debian'))
      rpmArgs.push('--force-debian');
    rpmbuild('triggers', TRIGGERS_SPEC);
    for (const [part, kernel] of [
      ['devel', K99],
      ['core', K99],
      ['devel', K98],
      ['core', K98],
      ['devel', K97],
    ] as const)
      rpmbuild(`${part}-${kernel}`, KERNEL_FILES_SPEC, {
        part,
        kver: kernel,
        kfile: PART_FILE[part],
      });

    makeScratchRoot(root);
    mkdirSync(join(root, 'standin'));
    mkdirSync(join(root, 'calls'));
    writeFileSync(join(root, 'standin', 'dkmsd'), STANDIN_DKMSD, { mode: 0o755 });
    writeFileSync(join(root, 'standin', 'dkms'), STANDIN_DKMS, { mode: 0o755 });
    writeFileSync(join(root, 'standin', 'status'), '');
    execFileSync('rpm', ['--initdb', '--dbpath', '/var/lib/rpm', '--root', root]);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    rmSync(join(root, 'calls'), { recursive: true, force: true });
    mkdirSync(join(root, 'calls'));
  });

  it('the package carries the spec fragment as transaction file triggers', () => {
    const triggers = execFileSync(
      'rpm',
      ['-qp', '--filetriggers', join(rpms, 'noarch', 'dkmsts-triggers-1.0-1.noarch.rpm')],
      { encoding: 'utf8' },
    );
    assert.match(
      triggers,
      /^transfiletriggerin scriptlet \(using \/bin\/sh\) -- \/lib\/modules, \/usr\/lib\/modules, \/usr\/src\/kernels$/m,
    );
    assert.match(
      triggers,
      /^transfiletriggerpostun scriptlet \(using \/bin\/sh\) -- \/lib\/modules, \/usr\/lib\/modules$/m,
    );
    assert.match(triggers, /\/usr\/lib\/dkms-ts\/hooks\/rpm\/dkms-rpm-trigger in/);
  });

  it('installing the trigger package itself pokes nothing', async () => {
    await rpm(['-i', join(rpms, 'noarch', 'dkmsts-triggers-1.0-1.noarch.rpm')]);
    assert.deepEqual(calls('dkmsd'), []);
    assert.deepEqual(calls('dkms'), []);
  });

  it('two packages with files of one kernel in one transaction: one kernel-added', async () => {
    const result = await rpm(['-i', pkg('devel', K99), pkg('core', K99)]);
    assert.deepEqual(calls('dkmsd'), [`notify kernel-added ${K99} --wait --timeout 1800`]);
    assert.deepEqual(calls('dkms'), [], 'the daemon answered: no fallback');
    assert.match(result.stderr, new RegExp(`dkms: installing DKMS modules for kernel ${K99}`));
  });

  it('two kernels in one transaction: one kernel-added each', async () => {
    await rpm(['-i', pkg('devel', K98), pkg('core', K98), pkg('devel', K97)]);
    assert.deepEqual(calls('dkmsd').sort(), [
      `notify kernel-added ${K97} --wait --timeout 1800`,
      `notify kernel-added ${K98} --wait --timeout 1800`,
    ]);
  });

  it('erasing a kernel: one kernel-removed, and none for the kernels still there', async () => {
    // dkms has modules for 99 and 98; only 99 goes. 97 (headers only) has none.
    writeFileSync(
      join(root, 'standin', 'status'),
      `hello/1.0, ${K99}, x86_64: installed\nhello/1.0, ${K98}, x86_64: installed\n`,
    );
    await rpm(['-e', `dkmsts-devel-${K99}`, `dkmsts-core-${K99}`]);
    assert.deepEqual(calls('dkmsd'), [`notify kernel-removed ${K99}`]);
    assert.deepEqual(calls('dkms'), ['status'], 'postun asks dkms which kernels have modules');
  });

  it('with the daemon left to "auto", the chroot of --root gets dkms kernel_postinst instead', async () => {
    const { DKMS_HOOK_USE_DAEMON: _auto, ...env } = daemonEnv;
    await rpm(['-i', pkg('devel', K99), pkg('core', K99)], env);
    assert.deepEqual(calls('dkmsd'), []);
    assert.deepEqual(calls('dkms'), [`kernel_postinst -k ${K99}`]);
  });
});
