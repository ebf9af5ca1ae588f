import { basename, join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { findModuleFile } from '../status/status.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { builtTargets, requireAdded } from './builtModules.js';
import { planDsc, planModulesDeb, planSourceDeb, type ModulePlacement } from './debPlan.js';
import { packageDate, packageMaintainer } from './maintainer.js';
import { checkDebianVersion, debianArch, type KernelArch } from './names.js';
import { withStaging } from './staging.js';
import { runSteps } from './steps.js';
import { requireTool } from './tools.js';

const DPKG_DEV = { debian: 'dpkg-dev', rpm: 'dpkg-dev' };
const DPKG = { debian: 'dpkg', rpm: 'dpkg' };

const outputDir = (ctx: DkmsContext, ref: ModuleVersionRef, kind: string): string =>
  join(ctx.tree.versionDir(ref), kind);

/** Checks shared by every Debian package action, before anything is staged. */
function prepare(ctx: DkmsContext, ref: ModuleVersionRef, action: string, tool: string): void {
  requireAdded(ctx, ref);
  checkDebianVersion(ref.version);
  requireTool(tool, action, tool === 'dpkg-deb' ? DPKG : DPKG_DEV, ctx.distro);
}

/**
 * dkms mkdeb: the source package `<m>-dkms`. With `prebuilt` kernels it also ships their
 * modules as a binaries-only DKMS tarball its postinst loads. Returns the .deb's path.
 */
export async function makeSourceDeb(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  prebuilt: readonly KernelArch[],
): Promise<string> {
  prepare(ctx, ref, 'mkdeb', 'dpkg-deb');
  const targets = builtTargets(ctx, ref, prebuilt, 'mkdeb');
  const arches = new Set(targets.map((t) => debianArch(t.arch)));
  if (arches.size > 1) {
    throw new DkmsError(
      'USAGE',
      `One Debian package cannot carry modules for several architectures (${[...arches].join(', ')}).`,
      { hint: 'Run mkdeb once per architecture.' },
    );
  }
  const file = await withStaging(ctx, async (stagingDir) => {
    const plan = planSourceDeb({
      ref,
      sourceDir: ctx.tree.sourceLink(ref),
      maintainer: packageMaintainer(),
      prebuilt: targets,
      confFile: ctx.confFile ?? ctx.tree.confPath(ref),
      debArch: [...arches][0] ?? 'all',
      stagingDir,
      outputDir: outputDir(ctx, ref, 'deb'),
    });
    await runSteps(ctx, plan.steps);
    return plan.file;
  });
  ctx.reporter.info(`Debian package: ${file}`);
  return file;
}

/** Where each built module of one kernel goes, as `dkms install` would put it. */
async function placements(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  target: KernelArch,
): Promise<ModulePlacement[]> {
  const build = { ...ref, ...target };
  const conf = await loadConfOrThrow(ctx, build);
  const builtDir = ctx.tree.builtModuleDir(build);
  return conf.modules.map((entry) => {
    const from = findModuleFile(builtDir, entry.destName);
    if (!from) {
      throw new DkmsError(
        'NOT_BUILT',
        `Missing module ${entry.destName} in ${builtDir} (${ref.module}/${ref.version} for ${target.kernel}).`,
        {
          hint: `Rebuild it: dkms build ${ref.module}/${ref.version} -k ${target.kernel}/${target.arch} --force`,
        },
      );
    }
    return {
      from,
      to: join('/lib/modules', target.kernel, entry.destLocation, basename(from)),
    };
  });
}

/** dkms mkbmdeb: one `<m>-modules-<kver>` package per kernel. Returns the .debs' paths. */
export async function makeModulesDebs(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  kernels: readonly KernelArch[],
): Promise<string[]> {
  prepare(ctx, ref, 'mkbmdeb', 'dpkg-deb');
  const targets = builtTargets(ctx, ref, kernels, 'mkbmdeb');
  const files: string[] = [];
  for (const target of targets) {
    const modules = await placements(ctx, ref, target);
    const file = await withStaging(ctx, async (stagingDir) => {
      const plan = planModulesDeb({
        ref,
        kernel: target.kernel,
        arch: target.arch,
        debArch: debianArch(target.arch),
        modules,
        maintainer: packageMaintainer(),
        stagingDir,
        outputDir: outputDir(ctx, ref, 'deb'),
      });
      await runSteps(ctx, plan.steps);
      return plan.file;
    });
    ctx.reporter.info(`Debian package: ${file}`);
    files.push(file);
  }
  return files;
}

/** dkms mkdsc: `<m>-dkms_<v>.dsc` and `.tar.gz`. Returns their paths. */
export async function makeDsc(ctx: DkmsContext, ref: ModuleVersionRef): Promise<string[]> {
  prepare(ctx, ref, 'mkdsc', 'dpkg-source');
  const files = await withStaging(ctx, async (stagingDir) => {
    const plan = planDsc({
      ref,
      sourceDir: ctx.tree.sourceLink(ref),
      maintainer: packageMaintainer(),
      date: packageDate(),
      stagingDir,
      outputDir: outputDir(ctx, ref, 'dsc'),
    });
    await runSteps(ctx, plan.steps);
    return plan.files;
  });
  for (const file of files) ctx.reporter.info(`Debian source package: ${file}`);
  return files;
}
