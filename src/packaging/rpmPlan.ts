import { join } from 'node:path';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { rpmFileName, rpmPackageName, rpmPrebuiltTarballPath, rpmSpec } from './rpmSpec.js';
import type { PackagingStep } from './steps.js';
import { planPrebuiltTarball, type BuiltTarget } from './tarballPlan.js';

export interface RpmInput {
  ref: ModuleVersionRef;
  sourceDir: string;
  confFile: string;
  /** Builds shipped as a binaries-only DKMS tarball %post loads. */
  prebuilt: readonly BuiltTarget[];
  /** `noarch`, or the prebuilt modules' architecture. */
  arch: string;
  license: string;
  packager: string;
  modaliases: readonly string[];
  stagingDir: string;
  outputDir: string;
}

/** mkrpm: stage the files, write the spec, rpmbuild -bb, move the RPM into place. */
export function planRpm(input: RpmInput): { steps: PackagingStep[]; file: string; spec: string } {
  const { ref } = input;
  const root = join(input.stagingDir, 'root');
  const sourcePath = `/usr/src/${ref.module}-${ref.version}`;
  const tarball = input.prebuilt.length > 0 ? rpmPrebuiltTarballPath(ref) : undefined;
  const spec = rpmSpec({
    ref,
    arch: input.arch,
    license: input.license,
    packager: input.packager,
    modaliases: input.modaliases,
    stagedRoot: root,
    files: tarball ? [sourcePath, `/usr/share/${rpmPackageName(ref)}`] : [sourcePath],
    prebuiltTarball: tarball,
    prebuiltFor: input.prebuilt.map((t) => `${t.kernel} (${t.arch})`),
  });
  const specFile = join(input.stagingDir, `${rpmPackageName(ref)}.spec`);
  const name = rpmFileName(ref, input.arch);
  const file = join(input.outputDir, name);
  const steps: PackagingStep[] = [
    { kind: 'copyTree', from: input.sourceDir, to: join(root, sourcePath) },
  ];
  if (tarball) steps.push(...planPrebuiltTarball({ ...input, ref, archive: join(root, tarball) }));
  steps.push(
    { kind: 'writeFile', path: specFile, content: spec },
    {
      kind: 'run',
      file: 'rpmbuild',
      args: [
        '-bb',
        '--define',
        `_topdir ${join(input.stagingDir, 'rpmbuild')}`,
        '--define',
        `_rpmdir ${join(input.stagingDir, 'out')}`,
        ...(input.arch === 'noarch' ? [] : ['--target', input.arch]),
        specFile,
      ],
      cwd: input.stagingDir,
      what: 'Building the RPM',
    },
    { kind: 'rename', from: join(input.stagingDir, 'out', input.arch, name), to: file },
  );
  return { steps, file, spec };
}
