import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { loadConfOrThrow } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { DkmsError } from '../core/errors.js';
import { kernelConfigPath, kernelSourceDir } from '../kernel/kernel.js';
import { join } from 'node:path';
import { prepareKernelAndSigning } from './kernelPreparation.js';
import { recordDependencyVersions } from './dependencyRebuild.js';
import type { BuildRef } from '../core/stateTree.js';
import { addModule } from './add.js';
import { planBuild } from './buildPlan.js';
import { failBuild, runPlan } from './buildRunner.js';
import { openBuildSandbox } from './buildSandbox.js';
import type { DkmsContext } from '../core/context.js';
import { crashPoint } from '../core/crashPoint.js';

export interface BuildOptions {
  force?: boolean;
}

export type BuildOutcome = { status: 'built'; conf: DkmsConf } | { status: 'already-built' };

/** BUILD_EXCLUSIVE mismatch: dkms's diewarn 77 (a warning on stderr, not an error). */
export function checkNotExcluded(ctx: DkmsContext, ref: BuildRef, conf: DkmsConf): void {
  if (!conf.exclusion) return;
  const confPath = join(ctx.tree.versionDir(ref), ref.kernel, ref.arch, 'dkms.conf');
  throw new DkmsError(
    'BUILD_EXCLUDED',
    `The ${confPath}\nfor module ${ref.module}/${ref.version} includes BUILD_EXCLUSIVE directives\nwhich do not match this kernel/arch/config for any modules.\nThis indicates that it should not be built.`,
  );
}

/** BUILD_DEPENDS not installed for this kernel: exit 13, or a warning with --force. */
export function checkBuildDepends(
  ctx: DkmsContext,
  ref: BuildRef,
  conf: DkmsConf,
  force: boolean,
): void {
  const missing = conf.buildDepends.filter(
    (dep) => ctx.tree.installedVersion(dep, ref.kernel, ref.arch) === undefined,
  );
  if (missing.length === 0) return;
  const what = `module ${ref.module}/${ref.version} for kernel ${ref.kernel} (${ref.arch})`;
  const list = missing.map((dep) => ` ${dep}`).join('');
  if (force) {
    ctx.reporter.warn(`Trying to build ${what} despite of missing BUILD_DEPENDS:${list}.`);
    return;
  }
  throw new DkmsError(
    'BUILD_DEPENDS_MISSING',
    `Aborting build of ${what} due to missing BUILD_DEPENDS:${list}.\nYou may override by specifying --force.`,
  );
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
  if (!ctx.tree.isAdded(ref)) {
    await addModule(ctx, ref, { kernel: ref.kernel, arch: ref.arch });
    ctx.reporter.info('');
  }
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
  for (const warning of conf.warnings) ctx.reporter.warn(warning);
  checkNotExcluded(ctx, ref, conf);
  const sourceLink = ctx.tree.sourceLink(ref);
  if (readdirSync(sourceLink).length < 2) {
    throw new DkmsError(
      'CONF_INVALID',
      `The directory ${sourceLink} does not appear to have module source located within it.\nBuild halted.`,
    );
  }
  const signing = await prepareKernelAndSigning(ctx, ref.kernel, ref.arch);
  checkBuildDepends(ctx, ref, conf, options.force ?? false);
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
  const sandbox = await openBuildSandbox(ctx, plan);
  try {
    await runPlan(ctx, plan, signing, sandbox);
  } catch (error) {
    if (error instanceof DkmsError) failBuild(plan, sandbox.explain(error, plan.logFile));
    // A raw fs error (ENOSPC while finishing a module...) must not leave the staging dir.
    rmSync(plan.stagingDir, { recursive: true, force: true });
    throw error;
  } finally {
    await sandbox.close();
  }
  crashPoint('build:staged');
  rmSync(plan.finalDir, { recursive: true, force: true });
  renameSync(plan.stagingDir, plan.finalDir);
  rmSync(plan.keptFailedLogFile, { force: true });
  rmSync(plan.workDir, { recursive: true, force: true });
  recordDependencyVersions(ctx, ref, conf, options.force ?? false);
  return { status: 'built', conf };
}
