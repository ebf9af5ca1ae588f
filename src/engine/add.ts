import { cpSync, existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import { DkmsError } from '../core/errors.js';
import { isInside } from '../core/safePath.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { defaultArch } from '../core/context.js';
import { runBuildScript } from './scripts.js';
import { runningKernel } from '../kernel/kernels.js';

/**
 * Copies a directory holding a dkms.conf to `<source_tree>/<m>-<v>` (dkms's add_source_tree)
 * and returns which module/version it is.
 */
export async function addSourceTree(
  ctx: DkmsContext,
  dir: string,
  force: boolean,
): Promise<ModuleVersionRef> {
  const from = realpathSync(resolve(dir));
  const confPath = join(from, 'dkms.conf');
  if (!existsSync(confPath)) {
    throw new DkmsError('USAGE', `${dir} must contain a dkms.conf file!`, { exitCode: 9 });
  }
  let conf;
  try {
    conf = await loadConfOrThrow(ctx, {
      module: '',
      version: '',
      kernel: runningKernel(),
      arch: defaultArch(),
      confPath,
    });
  } catch (error) {
    throw new DkmsError('CONF_INVALID', 'Malformed dkms.conf file. Cannot load source tree.', {
      exitCode: 10,
      cause: error,
      preface: error instanceof DkmsError ? error.preface : undefined,
      hint: error instanceof Error ? error.message : undefined,
    });
  }
  const ref = { module: conf.packageName, version: conf.packageVersion };
  // sourceDir refuses names that would lead outside the source tree, before anything is touched.
  const target = ctx.tree.sourceDir(ref);
  if (isInside(from, target) || isInside(target, from)) {
    throw new DkmsError('BAD_PATH', `Cannot copy ${from} to ${target}: one is inside the other.`, {
      hint: `Add the module from a directory outside ${ctx.paths.sourceTree}, or as ${ref.module}/${ref.version}.`,
    });
  }
  if (force && existsSync(target) && from !== target)
    rmSync(target, { recursive: true, force: true });
  if ([target, ctx.tree.sourceLink(ref), ctx.tree.buildWorkDir(ref)].includes(from)) return ref;
  mkdirSync(target, { recursive: true });
  cpSync(from, target, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  return ref;
}

/** dkms add for a module/version whose source is in the source tree. */
export async function addModule(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  options: { kernel?: string; arch?: string } = {},
): Promise<void> {
  if (ctx.tree.isAdded(ref)) {
    throw new DkmsError(
      'ALREADY_ADDED',
      `DKMS tree already contains: ${ref.module}/${ref.version}\nYou cannot add the same module/version combo more than once.`,
    );
  }
  const source = ctx.tree.sourceDir(ref);
  if (!existsSync(source)) {
    throw new DkmsError(
      'SOURCE_MISSING',
      `Could not find module source directory.\nDirectory: ${source} does not exist.`,
    );
  }
  const confPath = ctx.confFile ?? join(source, 'dkms.conf');
  if (!existsSync(confPath)) {
    throw new DkmsError(
      'CONF_NOT_FOUND',
      `Could not locate dkms.conf file.\nFile: ${confPath} does not exist.`,
    );
  }
  const conf = await loadConfOrThrow(ctx, {
    ...ref,
    kernel: options.kernel ?? runningKernel(),
    arch: options.arch ?? defaultArch(),
    confPath,
  });
  for (const warning of conf.warnings) ctx.reporter.warn(warning);
  if (conf.packageName !== ref.module || conf.packageVersion !== ref.version) {
    ctx.reporter.warn(
      `${confPath} says PACKAGE_NAME="${conf.packageName}" PACKAGE_VERSION="${conf.packageVersion}", not ${ref.module}/${ref.version}.`,
    );
  }
  const link = ctx.tree.sourceLink(ref);
  ctx.reporter.info(`Creating symlink ${link} -> ${source}`);
  mkdirSync(ctx.tree.buildWorkDir(ref), { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(source, link);
  await runBuildScript(ctx, ref, 'post_add', conf.postAdd);
}
