import { lockModule } from '../core/lock.js';
import type { DkmsArgs } from './args.js';
import { DkmsError, EXIT_SKIPPED, isDkmsError } from '../core/errors.js';
import { defaultArch, type DkmsContext } from '../core/context.js';
import { runningKernel } from '../kernel/kernels.js';
import type { BuildRef, ModuleVersionRef } from '../core/stateTree.js';
import { compareVersions } from '../util/version.js';
import { kernelReleaseProblem, moduleWordProblem } from '../util/names.js';

/** `-m`/`-v` (or MODULE/VERSION); a lone module with exactly one version in the tree takes it. */
export function moduleVersionArgs(
  ctx: DkmsContext,
  args: DkmsArgs,
  action: string,
): ModuleVersionRef {
  const module = args.module;
  let version = args.moduleVersion;
  if (module && !version) {
    const versions = ctx.tree.versions(module);
    if (versions.length === 1) version = versions[0];
  }
  if (!module || !version) {
    throw new DkmsError(
      'MISSING_ARGS',
      `Arguments <module> and <module-version> are not specified.\nUsage: ${action} <module>/<module-version> or\n       ${action} -m <module>/<module-version> or\n       ${action} -m <module> -v <module-version>`,
    );
  }
  const why = moduleWordProblem(module) ?? moduleWordProblem(version);
  if (why) {
    throw new DkmsError('BAD_PATH', `Invalid module name or version: ${module}/${version}`, {
      hint: `Module names and versions are path components: ${why}.`,
    });
  }
  return { module, version };
}

/** dkms's setup_kernels_arches: -k/-a pairs, --all from the tree, default the running kernel. */
export function kernelArches(
  ctx: DkmsContext,
  args: DkmsArgs,
  ref: ModuleVersionRef | undefined,
  action: string,
): { kernel: string; arch: string }[] {
  if (args.all) {
    if (
      [
        'add',
        'build',
        'install',
        'autoinstall',
        'kernel_postinst',
        'kernel_preinst',
        'kernel_prerm',
        'match',
      ].includes(action)
    ) {
      throw new DkmsError('USAGE', `The action ${action} does not support the --all parameter.`, {
        exitCode: 5,
      });
    }
    if (args.kernels.length > 0)
      throw new DkmsError(
        'USAGE',
        'You cannot specify a kernel version and also specify --all on the command line.',
        { exitCode: 2 },
      );
    if (args.arches.length > 0)
      throw new DkmsError(
        'USAGE',
        'You cannot specify an arch and also specify --all on the command line.',
        { exitCode: 3 },
      );
    if (!ref) return [];
    return inStatusOrder(ctx.tree.builds(ref), (b) => ctx.tree.isInstalled(b)).map((b) => ({
      kernel: b.kernel,
      arch: b.arch,
    }));
  }
  const kernels = args.kernels.length > 0 ? args.kernels : [runningKernel()];
  for (const kernel of kernels) checkKernelRelease(kernel);
  for (const arch of args.arches) {
    const why = moduleWordProblem(arch);
    if (why) throw new DkmsError('USAGE', `Invalid arch '${arch}': ${why}.`, { exitCode: 16 });
  }
  if (args.arches.length > 1 && args.arches.length !== kernels.length) {
    throw new DkmsError(
      'USAGE',
      'If more than one arch is specified on the command line, then there must be an equal number of kernel versions also specified (1:1 relationship).',
    );
  }
  return kernels.map((kernel, i) => ({
    kernel,
    arch: args.arches[i] ?? args.arches[0] ?? defaultArch(),
  }));
}

/**
 * The order `--all` visits builds in: upstream reads `module_status_built | sort -V`, lines
 * `built m/v/k/a` and `installed m/v/k/a`, so built-only kernels come first.
 */
export function inStatusOrder(
  builds: BuildRef[],
  isInstalled: (b: BuildRef) => boolean,
): BuildRef[] {
  const line = (b: BuildRef): string =>
    `${isInstalled(b) ? 'installed' : 'built'} ${b.module}/${b.version}/${b.kernel}/${b.arch}`;
  return builds
    .map((build) => ({ build, line: line(build) }))
    .sort((x, y) => compareVersions(x.line, y.line))
    .map(({ build }) => build);
}

/** A kernel release from the command line, checked before it becomes part of any path. */
export function checkKernelRelease(kernel: string): void {
  const why = kernelReleaseProblem(kernel);
  if (why)
    throw new DkmsError('USAGE', `Invalid kernel version '${kernel}': ${why}.`, { exitCode: 16 });
}

/** install/uninstall & co. write the system's module tree: root only, as upstream. */
export function requireRootForSystemTree(ctx: DkmsContext): void {
  if (ctx.paths.installTree.replace(/\/+$/, '') === '/lib/modules' && process.getuid?.() !== 0) {
    throw new DkmsError('NOT_ROOT', 'You must be root to use this command.');
  }
}

export const refFor = (ref: ModuleVersionRef, ka: { kernel: string; arch: string }): BuildRef => ({
  ...ref,
  ...ka,
});

export const isSkip = (error: unknown): boolean =>
  isDkmsError(error) && error.exitCode === EXIT_SKIPPED;

/**
 * `dkms add|build|install DIR` or `.../dkms.conf`: copies the source to
 * `<source_tree>/<name>-<version>` (dkms's add_source_tree) and names the module.
 */
export async function takeSourceTreeArg(ctx: DkmsContext, args: DkmsArgs): Promise<void> {
  if (!args.sourceTreeArg || args.module) return;
  const { addSourceTree } = await import('../engine/add.js');
  const ref = await addSourceTree(ctx, args.sourceTreeArg, args.force);
  args.module = ref.module;
  args.moduleVersion = ref.version;
}

/**
 * dkms's module_is_broken_and_die (exit 4), before any action but add works on a module.
 * Another dkms may be adding the module this very moment (its version directory exists
 * before the source link does): a module that looks broken is looked at again once that
 * command let go of the module's lock.
 */
export async function refuseBroken(ctx: DkmsContext, ref: ModuleVersionRef): Promise<void> {
  if (!ctx.tree.isBroken(ref)) return;
  try {
    await lockModule(ctx, ref.module, () => Promise.resolve());
  } catch {
    // no lock to be had (not root, read-only tree): what the tree says now stands
  }
  if (!ctx.tree.isBroken(ref)) return;
  throw new DkmsError(
    'BROKEN',
    `${ref.module}/${ref.version} is broken!\nMissing the source directory or the symbolic link pointing to it.\nManual intervention is required!`,
  );
}
