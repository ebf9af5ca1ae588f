import { DkmsError } from '../core/errors.js';
import type { ModuleVersionRef } from '../core/stateTree.js';

/** A kernel and architecture a package or tarball carries modules for. */
export interface KernelArch {
  kernel: string;
  arch: string;
}

/** Debian package names: lower case, `[a-z0-9+.-]`; dkms 2.x turned `_` into `-`. */
export function debianName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9+.-]/g, '-');
}

/** `uname -m` to the Debian architecture name dpkg uses in file names and control files. */
export function debianArch(arch: string): string {
  const map: Record<string, string> = {
    x86_64: 'amd64',
    i386: 'i386',
    i486: 'i386',
    i586: 'i386',
    i686: 'i386',
    aarch64: 'arm64',
    armv7l: 'armhf',
    armv6l: 'armhf',
    ppc64le: 'ppc64el',
    ppc64: 'ppc64',
    s390x: 's390x',
    riscv64: 'riscv64',
    mips64: 'mips64el',
    loongarch64: 'loong64',
  };
  return map[arch] ?? arch;
}

/** Debian versions start with a digit and use `A-Za-z0-9.+~-` (a `-` starts the revision). */
export function checkDebianVersion(version: string): void {
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(version) || version.endsWith('-')) {
    throw new DkmsError(
      'USAGE',
      `The module version '${version}' cannot be a Debian package version: it must start with a digit and contain only letters, digits and . + ~ -.`,
      { hint: 'Package a module whose PACKAGE_VERSION is a valid Debian version.' },
    );
  }
}

/** RPM versions cannot contain `-` (it separates the release); dkms 2.x-era specs used `_`. */
export const rpmVersion = (version: string): string => version.replace(/-/g, '_');

/**
 * The kernel part of a tarball name, as upstream's make_tarball builds it:
 * `kernel<kver>-<arch>` joined with `-`, `source-only`, or `manykernels` when too long.
 */
export function tarballKernelLabel(targets: readonly KernelArch[], sourceOnly: boolean): string {
  if (sourceOnly) return 'source-only';
  const label = targets.map((t) => `kernel${t.kernel}-${t.arch}`).join('-');
  // upstream counts with `wc -m`, which includes the newline echo adds
  return label.length + 1 > 200 ? 'manykernels' : label;
}

/** `<m>-<v>-<label>.dkms.tar.gz`, the name mktarball gives a tarball without --archive. */
export const tarballName = (ref: ModuleVersionRef, label: string): string =>
  `${ref.module}-${ref.version}-${label}.dkms.tar.gz`;
