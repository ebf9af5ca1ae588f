import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';
import { byteOrder, type BuildRef, type ModuleVersionRef } from '../core/stateTree.js';
import { builtModuleFiles, builtTargets, requireAdded } from './builtModules.js';
import { packageMaintainer } from './maintainer.js';
import type { KernelArch } from './names.js';
import { rpmSafeAlias } from './rpmSpec.js';
import { planRpm } from './rpmPlan.js';
import { withStaging } from './staging.js';
import { runSteps } from './steps.js';
import { requireTool } from './tools.js';

/** What the built modules say about themselves, for the RPM header. */
interface ModuleFacts {
  aliases: string[];
  license: string | undefined;
}

async function modinfoField(file: string, field: string): Promise<string[]> {
  const result = await runTool('modinfo', ['-F', field, file]);
  if (result.exitCode !== 0) {
    throw new DkmsError('TARBALL', `modinfo could not read ${file}: ${result.stderr.trim()}`);
  }
  return result.stdout.split('\n').filter((line) => line !== '');
}

/** `modinfo -F alias` (and license) of every module of these builds, as kmodtool collected them. */
async function moduleFacts(ctx: DkmsContext, builds: readonly BuildRef[]): Promise<ModuleFacts> {
  const aliases = new Set<string>();
  let license: string | undefined;
  for (const build of builds) {
    for (const name of builtModuleFiles(ctx, build)) {
      const file = join(ctx.tree.builtModuleDir(build), name);
      for (const alias of await modinfoField(file, 'alias')) aliases.add(alias);
      license ??= (await modinfoField(file, 'license'))[0];
    }
  }
  const sorted = [...aliases].sort(byteOrder);
  for (const alias of sorted.filter((a) => !rpmSafeAlias(a)))
    ctx.reporter.warn(
      `The alias '${alias}' cannot be an RPM dependency name; left out of Provides.`,
    );
  return { aliases: sorted, license };
}

/**
 * dkms mkrpm: `<m>-dkms` shipping /usr/src/<m>-<v>, with `Provides: modalias(...)` from the
 * built modules (of `prebuilt`, else of every kernel the module is built for) and %post /
 * %preun calling dkms. With `prebuilt` kernels their modules ride along as a DKMS tarball.
 */
export async function makeRpm(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  prebuilt: readonly KernelArch[],
): Promise<string> {
  requireAdded(ctx, ref);
  requireTool('rpmbuild', 'mkrpm', { debian: 'rpm', rpm: 'rpm-build' }, ctx.distro);
  const targets = builtTargets(ctx, ref, prebuilt, 'mkrpm');
  const arches = [...new Set(targets.map((t) => t.arch))];
  if (arches.length > 1) {
    throw new DkmsError(
      'USAGE',
      `One RPM cannot carry modules for several architectures (${arches.join(', ')}).`,
      { hint: 'Run mkrpm once per architecture.' },
    );
  }
  const aliasBuilds =
    targets.length > 0 ? targets.map((t) => ({ ...ref, ...t })) : ctx.tree.builds(ref);
  if (aliasBuilds.length === 0) {
    ctx.reporter.warn(
      `${ref.module}/${ref.version} is not built for any kernel, so the RPM has no modalias Provides. Build it first (dkms build ${ref.module}/${ref.version}) to get them.`,
    );
  }
  const facts = await moduleFacts(ctx, aliasBuilds);
  const file = await withStaging(ctx, async (stagingDir) => {
    const plan = planRpm({
      ref,
      sourceDir: ctx.tree.sourceLink(ref),
      confFile: ctx.confFile ?? ctx.tree.confPath(ref),
      prebuilt: targets,
      arch: arches[0] ?? 'noarch',
      license: facts.license ?? 'Unknown',
      packager: packageMaintainer(),
      modaliases: facts.aliases,
      stagingDir,
      outputDir: join(ctx.tree.versionDir(ref), 'rpm'),
    });
    ctx.reporter.verbose(plan.spec);
    await runSteps(ctx, plan.steps);
    return plan.file;
  });
  ctx.reporter.info(`RPM package: ${file}`);
  return file;
}
