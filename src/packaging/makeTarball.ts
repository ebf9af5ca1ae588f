import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { builtTargets, requireAdded } from './builtModules.js';
import type { KernelArch } from './names.js';
import { withStaging } from './staging.js';
import { runSteps } from './steps.js';
import { defaultTarballName, planTarball, tarballDestination } from './tarballPlan.js';

export interface MakeTarballOptions {
  /** Kernels whose builds go in (ignored with sourceOnly). */
  targets: readonly KernelArch[];
  /** No prebuilt modules. @default false */
  sourceOnly?: boolean;
  /** No source: dkms_binaries_only/ with dkms.conf instead. @default false */
  binariesOnly?: boolean;
  /** --archive: file name, and directory when it has one. */
  archive?: string | undefined;
  /** Directory relative --archive paths start from. @default process.cwd() */
  cwd?: string;
}

/** dkms mktarball: upstream's `<m>-<v>-kernel<kver>-<arch>.dkms.tar.gz` format. Returns its path. */
export async function makeTarball(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  options: MakeTarballOptions,
): Promise<string> {
  const sourceOnly = options.sourceOnly ?? false;
  const binariesOnly = options.binariesOnly ?? false;
  if (sourceOnly && binariesOnly) {
    throw new DkmsError('USAGE', 'You cannot use --source-only and --binaries-only together.');
  }
  requireAdded(ctx, ref);
  if (!sourceOnly && options.targets.length === 0) {
    throw new DkmsError('NOT_BUILT', `${ref.module}/${ref.version} is not built for any kernel.`, {
      hint: `Build it first (dkms build ${ref.module}/${ref.version} -k KERNEL), or use --source-only.`,
    });
  }
  const targets = sourceOnly ? [] : builtTargets(ctx, ref, options.targets, 'mktarball');
  const confFile = ctx.confFile ?? ctx.tree.confPath(ref);
  if (binariesOnly && !existsSync(confFile)) {
    throw new DkmsError(
      'CONF_NOT_FOUND',
      `Could not locate dkms.conf file.\nFile: ${confFile} does not exist.`,
    );
  }
  const archive = tarballDestination(
    join(ctx.tree.versionDir(ref), 'tarball'),
    defaultTarballName(ref, targets, sourceOnly),
    options.archive,
    options.cwd ?? process.cwd(),
  );
  for (const target of targets)
    ctx.reporter.info(`Marking modules for ${target.kernel} (${target.arch}) for archiving...`);
  ctx.reporter.info(
    binariesOnly
      ? 'Creating tarball structure to specifically accommodate binaries.'
      : `Marking ${ctx.tree.sourceLink(ref)} for archiving...`,
  );
  await withStaging(ctx, (stagingDir) =>
    runSteps(
      ctx,
      planTarball({
        ref,
        targets,
        sourceOnly,
        binariesOnly,
        sourceDir: ctx.tree.sourceLink(ref),
        confFile,
        stagingDir,
        archive,
      }),
    ),
  );
  ctx.reporter.info(`Tarball location: ${archive}`);
  return archive;
}
