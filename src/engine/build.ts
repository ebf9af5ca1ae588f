import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { loadConfOrThrow } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { DkmsError } from '../core/errors.js';
import {
  headersPackageHint,
  headersPresent,
  kernelConfigPath,
  kernelSourceDir,
} from '../kernel/kernel.js';
import type { BuildRef } from '../core/stateTree.js';
import { addModule } from './add.js';
import { planBuild } from './buildPlan.js';
import { failBuild, runPlan } from './buildRunner.js';
import type { DkmsContext } from '../core/context.js';
import { crashPoint } from '../core/crashPoint.js';

export interface BuildOptions {
  force?: boolean;
}

export type BuildOutcome = { status: 'built'; conf: DkmsConf } | { status: 'already-built' };

/** Checks that happen before anything is copied: exclusions, headers, dependencies. */
export function checkBuildable(ctx: DkmsContext, ref: BuildRef, conf: DkmsConf): void {
  if (conf.exclusion) {
    throw new DkmsError(
      'BUILD_EXCLUDED',
      `The ${ctx.tree.confPath(ref)} for module ${ref.module} includes a BUILD_EXCLUSIVE directive which does not match this kernel/arch/config.\n(${conf.exclusion})\nThis indicates that it should not be built.`,
    );
  }
  const sourceDir = kernelSourceDir(ctx.paths.installTree, ref.kernel, ctx.kernelSourceDir);
  if (!headersPresent(sourceDir)) {
    throw new DkmsError(
      'HEADERS_MISSING',
      `Your kernel headers for kernel ${ref.kernel} cannot be found at ${sourceDir}.`,
      {
        hint: `Please install the ${headersPackageHint(ref.kernel, ctx.distro)} package or use the --kernelsourcedir option to tell DKMS where it's located.`,
      },
    );
  }
  const missing = conf.buildDepends.filter(
    (dep) => ctx.tree.installedVersion(dep, ref.kernel, ref.arch) === undefined,
  );
  if (missing.length > 0) {
    throw new DkmsError(
      'BUILD_DEPENDS_MISSING',
      `Aborting build of module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch}) due to missing BUILD_DEPENDS: ${missing.join(' ')}.`,
      {
        hint: `Install ${missing.join(', ')} for ${ref.kernel} first (dkms autoinstall orders them for you).`,
      },
    );
  }
}

/**
 * dkms build for one kernel. The result lands in a staging directory and is renamed into
 * `<m>/<v>/<kver>/<arch>` only when everything succeeded, so an interrupted build never
 * looks built. The caller holds the module lock.
 */
export async function buildModule(
  ctx: DkmsContext,
  ref: BuildRef,
  options: BuildOptions = {},
): Promise<BuildOutcome> {
  if (ctx.tree.isBroken(ref)) {
    throw new DkmsError(
      'BROKEN',
      `${ref.module}/${ref.version} is broken!\nMissing the source directory or the symbolic link pointing to it.\nManual intervention is required!`,
    );
  }
  if (!ctx.tree.isAdded(ref)) await addModule(ctx, ref, { kernel: ref.kernel, arch: ref.arch });
  if (ctx.tree.isBuilt(ref)) {
    if (!options.force) {
      ctx.reporter.info(
        `Module ${ref.module}/${ref.version} already built for kernel ${ref.kernel} (${ref.arch}), skip. You may override by specifying --force.`,
      );
      return { status: 'already-built' };
    }
    const { unbuildOne } = await import('./remove.js');
    await unbuildOne(ctx, ref, { uninstall: false });
  }
  const conf = await loadConfOrThrow(ctx, ref);
  checkBuildable(ctx, ref, conf);
  const sourceLink = ctx.tree.sourceLink(ref);
  if (readdirSync(sourceLink).length < 2) {
    throw new DkmsError(
      'CONF_INVALID',
      `The directory ${sourceLink} does not appear to have module source located within it.\nBuild halted.`,
    );
  }
  const kernelDir = kernelSourceDir(ctx.paths.installTree, ref.kernel, ctx.kernelSourceDir);
  const configPath = kernelConfigPath(kernelDir, ctx.kernelConfigFile);
  const plan = planBuild({
    ref,
    conf,
    versionDir: ctx.tree.versionDir(ref),
    sourceDir: sourceLink,
    parallelJobs: ctx.jobserver ? undefined : ctx.parallelJobs,
    kernelConfig: existsSync(configPath) ? configPath : undefined,
    stagingTag: `${process.pid}_${Date.now().toString(36)}`,
  });
  for (const warning of conf.warnings) ctx.reporter.warn(warning);
  ctx.reporter.info(
    `\nBuilding module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch})`,
  );
  try {
    await runPlan(ctx, plan);
  } catch (error) {
    if (error instanceof DkmsError) failBuild(plan, error);
    // A raw fs error (ENOSPC while finishing a module...) must not leave the staging dir.
    rmSync(plan.stagingDir, { recursive: true, force: true });
    throw error;
  }
  crashPoint('build:staged');
  rmSync(plan.finalDir, { recursive: true, force: true });
  renameSync(plan.stagingDir, plan.finalDir);
  rmSync(plan.keptFailedLogFile, { force: true });
  rmSync(plan.workDir, { recursive: true, force: true });
  ctx.reporter.info(`Built ${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch}).`);
  return { status: 'built', conf };
}
