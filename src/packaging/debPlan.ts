import { basename, join } from 'node:path';
import type { ModuleVersionRef } from '../core/stateTree.js';
import {
  binaryControl,
  changelog,
  rules,
  sourceControl,
  type DebianPackageInfo,
} from './debianFiles.js';
import {
  debianScript,
  depmodScript,
  installModuleScript,
  removeModuleScript,
} from './maintainerScripts.js';
import { debianName } from './names.js';
import type { PackagingStep } from './steps.js';
import { planPrebuiltTarball, type BuiltTarget } from './tarballPlan.js';

/** `<name>-dkms`, the package dkms 2.x's mkdeb/mkdsc made. */
export const sourcePackageName = (ref: ModuleVersionRef): string =>
  `${debianName(ref.module)}-dkms`;

/** `<name>-modules-<kver>`, the package dkms 2.x's mkbmdeb made. */
export const modulesPackageName = (ref: ModuleVersionRef, kernel: string): string =>
  `${debianName(ref.module)}-modules-${debianName(kernel)}`;

export const debFileName = (pkg: string, version: string, arch: string): string =>
  `${pkg}_${version}_${arch}.deb`;

/** Where a source package keeps its binaries-only DKMS tarball of prebuilt modules. */
export const prebuiltTarballPath = (ref: ModuleVersionRef): string =>
  `/usr/share/${sourcePackageName(ref)}/${ref.module}-${ref.version}.dkms.tar.gz`;

function sourcePackageInfo(
  ref: ModuleVersionRef,
  maintainer: string,
  architecture: string,
  prebuilt: readonly BuiltTarget[],
): DebianPackageInfo {
  return {
    package: sourcePackageName(ref),
    version: ref.version,
    architecture,
    maintainer,
    depends: 'dkms',
    section: 'kernel',
    summary: `${ref.module} driver in DKMS format`,
    description: [
      `The source of the ${ref.module} ${ref.version} kernel module, in /usr/src/${ref.module}-${ref.version}.`,
      'Installing the package registers it with dkms, which builds and installs it for',
      'every kernel with headers; removing the package removes it from dkms.',
      ...(prebuilt.length > 0
        ? ['', `Prebuilt for: ${prebuilt.map((t) => `${t.kernel} (${t.arch})`).join(', ')}.`]
        : []),
    ],
  };
}

export interface SourceDebInput {
  ref: ModuleVersionRef;
  /** The module source (`<tree>/<m>/<v>/source`). */
  sourceDir: string;
  maintainer: string;
  /** Builds shipped as a binaries-only DKMS tarball the postinst loads; none = `all`. */
  prebuilt: readonly BuiltTarget[];
  /** The dkms.conf the prebuilt tarball carries. */
  confFile: string;
  /** Debian architecture of the prebuilt modules (used only when there are some). */
  debArch: string;
  stagingDir: string;
  outputDir: string;
}

/** mkdeb: `<m>-dkms_<v>_all.deb` shipping /usr/src/<m>-<v> and dkms add/build/install scripts. */
export function planSourceDeb(input: SourceDebInput): { steps: PackagingStep[]; file: string } {
  const { ref } = input;
  const arch = input.prebuilt.length > 0 ? input.debArch : 'all';
  const info = sourcePackageInfo(ref, input.maintainer, arch, input.prebuilt);
  const root = join(input.stagingDir, 'pkg');
  const file = join(input.outputDir, debFileName(info.package, ref.version, arch));
  const tarball = input.prebuilt.length > 0 ? prebuiltTarballPath(ref) : undefined;
  const steps: PackagingStep[] = [
    { kind: 'mkdir', path: join(root, 'DEBIAN') },
    {
      kind: 'copyTree',
      from: input.sourceDir,
      to: join(root, 'usr/src', `${ref.module}-${ref.version}`),
    },
  ];
  if (tarball) steps.push(...planPrebuiltTarball({ ...input, ref, archive: join(root, tarball) }));
  steps.push(
    { kind: 'writeFile', path: join(root, 'DEBIAN/control'), content: binaryControl(info) },
    {
      kind: 'writeFile',
      path: join(root, 'DEBIAN/postinst'),
      content: debianScript('postinst', ['configure'], installModuleScript(ref, tarball)),
      mode: 0o755,
    },
    {
      kind: 'writeFile',
      path: join(root, 'DEBIAN/prerm'),
      content: debianScript('prerm', ['remove', 'upgrade', 'deconfigure'], removeModuleScript(ref)),
      mode: 0o755,
    },
    ...buildDeb(root, input.stagingDir, file),
  );
  return { steps, file };
}

/** md5sums, dpkg-deb, then the package moves into the output directory. */
function buildDeb(root: string, stagingDir: string, file: string): PackagingStep[] {
  const partial = join(stagingDir, 'out', basename(file));
  return [
    { kind: 'md5sums', root, skip: 'DEBIAN', path: join(root, 'DEBIAN/md5sums') },
    { kind: 'mkdir', path: join(stagingDir, 'out') },
    {
      kind: 'run',
      file: 'dpkg-deb',
      args: ['--root-owner-group', '--build', root, partial],
      cwd: stagingDir,
      what: 'Building the Debian package',
    },
    { kind: 'rename', from: partial, to: file },
  ];
}

/** One built module file and where the package installs it. */
export interface ModulePlacement {
  from: string;
  /** Absolute path on the target system, e.g. /lib/modules/<kver>/updates/dkms/hello.ko */
  to: string;
}

export interface ModulesDebInput {
  ref: ModuleVersionRef;
  kernel: string;
  arch: string;
  debArch: string;
  modules: readonly ModulePlacement[];
  maintainer: string;
  stagingDir: string;
  outputDir: string;
}

/** mkbmdeb: `<m>-modules-<kver>_<v>_<arch>.deb` with only the built modules; no dkms needed. */
export function planModulesDeb(input: ModulesDebInput): { steps: PackagingStep[]; file: string } {
  const { ref, kernel } = input;
  const info: DebianPackageInfo = {
    package: modulesPackageName(ref, kernel),
    version: ref.version,
    architecture: input.debArch,
    maintainer: input.maintainer,
    provides: `${debianName(ref.module)}-modules`,
    section: 'kernel',
    summary: `${ref.module} ${ref.version} kernel modules for Linux ${kernel}`,
    description: [
      `The ${ref.module} ${ref.version} modules prebuilt by dkms for kernel ${kernel} (${input.arch}).`,
      'This package needs neither dkms nor a compiler on the target host.',
    ],
  };
  const root = join(input.stagingDir, kernel, 'pkg');
  const file = join(input.outputDir, debFileName(info.package, ref.version, input.debArch));
  const steps: PackagingStep[] = [
    { kind: 'mkdir', path: join(root, 'DEBIAN') },
    ...input.modules.map((m): PackagingStep => ({
      kind: 'copyFile',
      from: m.from,
      to: join(root, m.to),
      mode: 0o644,
    })),
    { kind: 'writeFile', path: join(root, 'DEBIAN/control'), content: binaryControl(info) },
    {
      kind: 'writeFile',
      path: join(root, 'DEBIAN/postinst'),
      content: debianScript('postinst', ['configure'], depmodScript(kernel)),
      mode: 0o755,
    },
    {
      kind: 'writeFile',
      path: join(root, 'DEBIAN/postrm'),
      content: debianScript('postrm', ['remove', 'purge'], depmodScript(kernel)),
      mode: 0o755,
    },
    ...buildDeb(root, join(input.stagingDir, kernel), file),
  ];
  return { steps, file };
}

export interface DscInput {
  ref: ModuleVersionRef;
  sourceDir: string;
  maintainer: string;
  date: Date;
  stagingDir: string;
  outputDir: string;
}

/** mkdsc: a native Debian source package (.dsc + .tar.gz) that builds <m>-dkms. */
export function planDsc(input: DscInput): { steps: PackagingStep[]; files: string[] } {
  const { ref } = input;
  const source = sourcePackageName(ref);
  const info = sourcePackageInfo(ref, input.maintainer, 'all', []);
  const dirName = `${source}-${ref.version}`;
  const tree = join(input.stagingDir, dirName);
  const debian = join(tree, 'debian');
  // 3.0 (native) refuses a Debian revision; a version with `-` needs the 1.0 format.
  const format = ref.version.includes('-') ? '1.0' : '3.0 (native)';
  const names = [`${source}_${ref.version}.dsc`, `${source}_${ref.version}.tar.gz`];
  const steps: PackagingStep[] = [
    { kind: 'copyTree', from: input.sourceDir, to: join(tree, `${ref.module}-${ref.version}`) },
    { kind: 'writeFile', path: join(debian, 'control'), content: sourceControl(info, source) },
    {
      kind: 'writeFile',
      path: join(debian, 'changelog'),
      content: changelog(source, ref.version, ref, input.maintainer, input.date),
    },
    { kind: 'writeFile', path: join(debian, 'rules'), content: rules(ref, source), mode: 0o755 },
    { kind: 'writeFile', path: join(debian, 'source/format'), content: `${format}\n` },
    {
      kind: 'writeFile',
      path: join(debian, 'postinst'),
      content: debianScript('postinst', ['configure'], installModuleScript(ref)),
      mode: 0o755,
    },
    {
      kind: 'writeFile',
      path: join(debian, 'prerm'),
      content: debianScript('prerm', ['remove', 'upgrade', 'deconfigure'], removeModuleScript(ref)),
      mode: 0o755,
    },
    {
      kind: 'run',
      file: 'dpkg-source',
      args: ['-Zgzip', '--build', dirName],
      cwd: input.stagingDir,
      what: 'Building the Debian source package',
    },
    ...names.map((name): PackagingStep => ({
      kind: 'rename',
      from: join(input.stagingDir, name),
      to: join(input.outputDir, name),
    })),
  ];
  return { steps, files: names.map((name) => join(input.outputDir, name)) };
}
