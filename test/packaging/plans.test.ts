import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryControl, changelog, rfc2822 } from '../../src/packaging/debianFiles.js';
import { planDsc, planModulesDeb, planSourceDeb } from '../../src/packaging/debPlan.js';
import {
  checkDebianVersion,
  debianArch,
  debianName,
  rpmVersion,
  tarballKernelLabel,
} from '../../src/packaging/names.js';
import { rpmSpec } from '../../src/packaging/rpmSpec.js';
import type { PackagingStep } from '../../src/packaging/steps.js';
import {
  defaultTarballName,
  planTarball,
  tarballDestination,
} from '../../src/packaging/tarballPlan.js';

const ref = { module: 'hello', version: '1.0' };
const K = '6.1.0-47-amd64';
const target = { kernel: K, arch: 'x86_64', buildDir: `/t/hello/1.0/${K}/x86_64` };

const written = (steps: PackagingStep[], suffix: string): string => {
  const step = steps.find((s) => s.kind === 'writeFile' && s.path.endsWith(suffix));
  assert.ok(step && step.kind === 'writeFile', `no step writes *${suffix}`);
  return step.content;
};

describe('tarball names and destinations', () => {
  it('names tarballs as upstream does', () => {
    assert.equal(
      defaultTarballName(ref, [target, { kernel: '6.1.0-50-amd64', arch: 'x86_64' }], false),
      'hello-1.0-kernel6.1.0-47-amd64-x86_64-kernel6.1.0-50-amd64-x86_64.dkms.tar.gz',
    );
    assert.equal(defaultTarballName(ref, [], true), 'hello-1.0-source-only.dkms.tar.gz');
    const many = Array.from({ length: 8 }, (_, i) => ({
      kernel: `6.1.0-${i}-amd64`,
      arch: 'x86_64',
    }));
    assert.equal(tarballKernelLabel(many, false), 'manykernels');
  });

  it('puts --archive in its own directory only when it names one', () => {
    assert.equal(
      tarballDestination('/t/tarball', 'd.tar.gz', undefined, '/cwd'),
      '/t/tarball/d.tar.gz',
    );
    assert.equal(tarballDestination('/t/tarball', 'd.tar.gz', 'x.tgz', '/cwd'), '/t/tarball/x.tgz');
    assert.equal(
      tarballDestination('/t/tarball', 'd.tar.gz', 'out/x.tgz', '/cwd'),
      '/cwd/out/x.tgz',
    );
    assert.equal(tarballDestination('/t/tarball', 'd.tar.gz', '/abs/x.tgz', '/cwd'), '/abs/x.tgz');
  });

  it('lays out dkms_main_tree and dkms_source_tree, or dkms_binaries_only', () => {
    const base = {
      ref,
      targets: [target],
      sourceOnly: false,
      sourceDir: '/t/hello/1.0/source',
      confFile: '/t/hello/1.0/source/dkms.conf',
      stagingDir: '/s',
      archive: '/out/x.dkms.tar.gz',
    };
    const full = planTarball({ ...base, binariesOnly: false });
    assert.deepEqual(
      full.filter((s) => s.kind === 'copyTree').map((s) => s.kind === 'copyTree' && s.to),
      [`/s/root/dkms_main_tree/${K}/x86_64`, '/s/root/dkms_source_tree'],
    );
    const binaries = planTarball({ ...base, binariesOnly: true });
    assert.equal(written(binaries, 'dkms_binaries_only/PACKAGE_NAME'), 'hello\n');
    assert.equal(written(binaries, 'dkms_binaries_only/PACKAGE_VERSION'), '1.0\n');
    assert.ok(!binaries.some((s) => s.kind === 'copyTree' && s.to.endsWith('dkms_source_tree')));
    const last = full.at(-1);
    assert.deepEqual(last, {
      kind: 'rename',
      from: '/s/out/x.dkms.tar.gz',
      to: '/out/x.dkms.tar.gz',
    });
  });
});

describe('Debian packages', () => {
  it('maps names, architectures and versions', () => {
    assert.equal(debianName('My_Driver'), 'my-driver');
    assert.equal(debianArch('x86_64'), 'amd64');
    assert.equal(debianArch('aarch64'), 'arm64');
    assert.doesNotThrow(() => checkDebianVersion('1.0+git20240101-3'));
    assert.throws(() => checkDebianVersion('v1.0'), /must start with a digit/);
    assert.equal(rpmVersion('1.0-rc1'), '1.0_rc1');
  });

  it('plans mkdeb: source in /usr/src, scripts calling dkms, Architecture all', () => {
    const { steps, file } = planSourceDeb({
      ref,
      sourceDir: '/t/hello/1.0/source',
      maintainer: 'A <a@b>',
      prebuilt: [],
      confFile: '/c',
      debArch: 'amd64',
      stagingDir: '/s',
      outputDir: '/t/hello/1.0/deb',
    });
    assert.equal(file, '/t/hello/1.0/deb/hello-dkms_1.0_all.deb');
    assert.ok(steps.some((s) => s.kind === 'copyTree' && s.to === '/s/pkg/usr/src/hello-1.0'));
    const control = written(steps, 'DEBIAN/control');
    assert.match(control, /^Package: hello-dkms\nVersion: 1\.0\nArchitecture: all\n/);
    assert.match(control, /^Depends: dkms$/m);
    const postinst = written(steps, 'DEBIAN/postinst');
    assert.match(postinst, /dkms add -m "\$NAME" -v "\$VERSION"/);
    assert.match(postinst, /dkms build -m "\$NAME" -v "\$VERSION" -k "\$kernel"/);
    assert.doesNotMatch(postinst, /ldtarball/);
    assert.match(written(steps, 'DEBIAN/prerm'), /dkms remove -m "\$NAME" -v "\$VERSION" --all/);
  });

  it('plans mkdeb -k: the prebuilt modules ride along in a binaries-only tarball', () => {
    const { steps, file } = planSourceDeb({
      ref,
      sourceDir: '/src',
      maintainer: 'A <a@b>',
      prebuilt: [target],
      confFile: '/src/dkms.conf',
      debArch: 'amd64',
      stagingDir: '/s',
      outputDir: '/o',
    });
    assert.equal(file, '/o/hello-dkms_1.0_amd64.deb');
    assert.ok(
      steps.some(
        (s) => s.kind === 'rename' && s.to === '/s/pkg/usr/share/hello-dkms/hello-1.0.dkms.tar.gz',
      ),
    );
    assert.match(written(steps, 'DEBIAN/postinst'), /dkms ldtarball '\/usr\/share\/hello-dkms\//);
  });

  it('plans mkbmdeb: modules under /lib/modules/<kver>, depmod in postinst', () => {
    const { steps, file } = planModulesDeb({
      ref,
      kernel: K,
      arch: 'x86_64',
      debArch: 'amd64',
      modules: [{ from: '/b/hello.ko', to: `/lib/modules/${K}/updates/dkms/hello.ko` }],
      maintainer: 'A <a@b>',
      stagingDir: '/s',
      outputDir: '/o',
    });
    assert.equal(file, `/o/hello-modules-${K}_1.0_amd64.deb`);
    assert.ok(
      steps.some(
        (s) =>
          s.kind === 'copyFile' && s.to === `/s/${K}/pkg/lib/modules/${K}/updates/dkms/hello.ko`,
      ),
    );
    assert.match(written(steps, 'DEBIAN/control'), /^Provides: hello-modules$/m);
    assert.match(written(steps, 'DEBIAN/postinst'), /depmod -a '6\.1\.0-47-amd64'/);
  });

  it('plans mkdsc with a dpkg-dev-only debian/rules and a dated changelog', () => {
    const date = new Date(Date.UTC(2024, 1, 29, 13, 5, 9));
    assert.equal(rfc2822(date), 'Thu, 29 Feb 2024 13:05:09 +0000');
    const { steps, files } = planDsc({
      ref,
      sourceDir: '/src',
      maintainer: 'A <a@b>',
      date,
      stagingDir: '/s',
      outputDir: '/o',
    });
    assert.deepEqual(files, ['/o/hello-dkms_1.0.dsc', '/o/hello-dkms_1.0.tar.gz']);
    assert.equal(written(steps, 'debian/source/format'), '3.0 (native)\n');
    assert.equal(
      written(steps, 'debian/changelog'),
      changelog('hello-dkms', '1.0', ref, 'A <a@b>', date),
    );
    assert.match(written(steps, 'debian/rules'), /dpkg-deb --root-owner-group --build/);
    const run = steps.find((s) => s.kind === 'run');
    assert.deepEqual(run?.kind === 'run' && run.args, ['-Zgzip', '--build', 'hello-dkms-1.0']);
  });

  it('writes continuation lines of a description with " ." for empty ones', () => {
    const control = binaryControl({
      package: 'p',
      version: '1',
      architecture: 'all',
      maintainer: 'A <a@b>',
      section: 'kernel',
      summary: 's',
      description: ['one', '', 'two'],
    });
    assert.match(control, /\nDescription: s\n one\n \.\n two\n$/);
  });
});

describe('RPM spec', () => {
  it('turns every modinfo alias into a modalias Provides, escaping %', () => {
    const spec = rpmSpec({
      ref,
      arch: 'noarch',
      license: 'GPL',
      packager: 'A <a@b>',
      modaliases: ['pci:v00008086d*sv*sd*bc*sc*i*', 'hello-100%', 'has space'],
      stagedRoot: '/s/root',
      files: ['/usr/src/hello-1.0'],
      prebuiltFor: [],
    });
    assert.match(spec, /^Provides: {7}modalias\(pci:v00008086d\*sv\*sd\*bc\*sc\*i\*\)$/m);
    assert.match(spec, /^Provides: {7}modalias\(hello-100%%\)$/m);
    assert.doesNotMatch(spec, /has space/);
    assert.match(spec, /^BuildArch: {6}noarch$/m);
    assert.match(spec, /^%post\n[^]*dkms add -m "\$NAME"/m);
    assert.match(spec, /^%preun\n[^]*dkms remove -m "\$NAME" -v "\$VERSION" --all/m);
    assert.match(spec, /printf '%%s\\n'/);
  });
});
