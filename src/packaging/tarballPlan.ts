import { basename, dirname, join, resolve } from 'node:path';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { tarballKernelLabel, tarballName, type KernelArch } from './names.js';
import type { PackagingStep } from './steps.js';
import { createArchiveArgs } from './tar.js';

/** A built kernel/arch and its directory `<tree>/<m>/<v>/<kver>/<arch>`. */
export interface BuiltTarget extends KernelArch {
  buildDir: string;
}

export interface TarballInput {
  ref: ModuleVersionRef;
  /** Builds to archive under dkms_main_tree/ (none for --source-only). */
  targets: readonly BuiltTarget[];
  sourceOnly: boolean;
  binariesOnly: boolean;
  /** The module source (`<tree>/<m>/<v>/source`). */
  sourceDir: string;
  /** The dkms.conf a binaries-only tarball carries. */
  confFile: string;
  /** An empty temporary directory the archive is assembled in (removed by the caller). */
  stagingDir: string;
  /** Where the archive goes. */
  archive: string;
}

/**
 * upstream's make_tarball destination: `<tree>/<m>/<v>/tarball/<name>`, or --archive's file
 * name, in --archive's directory when it has one.
 */
export function tarballDestination(
  defaultDir: string,
  defaultName: string,
  archiveOption: string | undefined,
  cwd: string,
): string {
  if (!archiveOption) return join(defaultDir, defaultName);
  const name = basename(archiveOption);
  return archiveOption.includes('/')
    ? join(resolve(cwd, dirname(archiveOption)), name)
    : join(defaultDir, name);
}

export const defaultTarballName = (
  ref: ModuleVersionRef,
  targets: readonly KernelArch[],
  sourceOnly: boolean,
): string => tarballName(ref, tarballKernelLabel(targets, sourceOnly));

/** Lays out upstream's format in the staging directory, then tars it into place. */
export function planTarball(input: TarballInput): PackagingStep[] {
  const stage = join(input.stagingDir, 'root');
  const steps: PackagingStep[] = [{ kind: 'mkdir', path: join(stage, 'dkms_main_tree') }];
  if (!input.sourceOnly) {
    for (const target of input.targets) {
      steps.push({
        kind: 'copyTree',
        from: target.buildDir,
        to: join(stage, 'dkms_main_tree', target.kernel, target.arch),
      });
    }
  }
  if (input.binariesOnly) {
    const dir = join(stage, 'dkms_binaries_only');
    steps.push(
      { kind: 'writeFile', path: join(dir, 'PACKAGE_NAME'), content: `${input.ref.module}\n` },
      { kind: 'writeFile', path: join(dir, 'PACKAGE_VERSION'), content: `${input.ref.version}\n` },
      { kind: 'copyFile', from: input.confFile, to: join(dir, 'dkms.conf') },
    );
  } else {
    steps.push({
      kind: 'copyTree',
      from: input.sourceDir,
      to: join(stage, 'dkms_source_tree'),
      skipHidden: true,
    });
  }
  // Same suffix as the archive: tar picks the compression from the name. A failure leaves
  // nothing half-written in the destination.
  const partial = join(input.stagingDir, 'out', basename(input.archive));
  steps.push(
    { kind: 'mkdir', path: dirname(partial) },
    {
      kind: 'run',
      file: 'tar',
      args: createArchiveArgs(stage, partial),
      cwd: stage,
      what: 'Making the tarball',
    },
    { kind: 'rename', from: partial, to: input.archive },
  );
  return steps;
}

/**
 * The binaries-only tarball a package built with prebuilt modules carries (its postinst loads
 * it with ldtarball), assembled in `<stagingDir>/tarball`.
 */
export function planPrebuiltTarball(input: {
  ref: ModuleVersionRef;
  prebuilt: readonly BuiltTarget[];
  sourceDir: string;
  confFile: string;
  stagingDir: string;
  archive: string;
}): PackagingStep[] {
  return planTarball({
    ref: input.ref,
    targets: input.prebuilt,
    sourceOnly: false,
    binariesOnly: true,
    sourceDir: input.sourceDir,
    confFile: input.confFile,
    stagingDir: join(input.stagingDir, 'tarball'),
    archive: input.archive,
  });
}
