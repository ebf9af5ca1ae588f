import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfOrThrow } from '../conf/loadConf.js';
import { DkmsError } from '../core/errors.js';
import { addSourceTree } from '../engine/add.js';
import { defaultArch, type DkmsContext } from '../core/context.js';
import { runningKernel } from '../kernel/kernels.js';
import { withModuleSession } from '../engine/recovery.js';
import { byteOrder, type ModuleVersionRef } from '../core/stateTree.js';
import { withStaging } from './staging.js';
import { runSteps, type PackagingStep } from './steps.js';
import { extractArchive } from './tar.js';
import { isKernelRelease, isModuleWord } from '../util/names.js';

export interface LoadTarballOptions {
  /** Replace an added module's source and existing builds. @default false */
  force: boolean;
}

/** What an extracted archive holds. */
type Layout =
  | { kind: 'source'; dir: string }
  | { kind: 'binaries'; dir: string }
  /** Not made by mktarball: a source tree with a dkms.conf somewhere inside. */
  | { kind: 'plain'; dir: string };

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The shallowest directory holding a dkms.conf (upstream: `find | head -1`), links not followed. */
function findConfDir(root: string): string | undefined {
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (const dir of level) {
      const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
        byteOrder(a.name, b.name),
      );
      if (entries.some((e) => e.name === 'dkms.conf' && e.isFile())) return dir;
      for (const e of entries) if (e.isDirectory()) next.push(join(dir, e.name));
    }
    level = next;
  }
  return undefined;
}

function detectLayout(root: string, archive: string): Layout {
  if (existsSync(join(root, 'dkms_source_tree', 'dkms.conf')))
    return { kind: 'source', dir: join(root, 'dkms_source_tree') };
  if (existsSync(join(root, 'dkms_binaries_only', 'dkms.conf')))
    return { kind: 'binaries', dir: join(root, 'dkms_binaries_only') };
  if (
    ['dkms_main_tree', 'dkms_source_tree', 'dkms_binaries_only'].some((d) => isDir(join(root, d)))
  ) {
    throw new DkmsError(
      'TARBALL',
      `No valid dkms.conf in dkms_source_tree or dkms_binaries_only.\n${archive} is not a valid DKMS tarball.`,
      { exitCode: 7 },
    );
  }
  const dir = findConfDir(root);
  if (!dir) {
    throw new DkmsError(
      'TARBALL',
      'Tarball does not appear to be a correctly formed DKMS archive. No dkms.conf found within it.',
      { exitCode: 3 },
    );
  }
  return { kind: 'plain', dir };
}

async function packageOf(ctx: DkmsContext, confPath: string): Promise<ModuleVersionRef> {
  let ref: ModuleVersionRef;
  try {
    const conf = await loadConfOrThrow(ctx, {
      module: '',
      version: '',
      kernel: runningKernel(),
      arch: defaultArch(),
      confPath,
    });
    ref = { module: conf.packageName, version: conf.packageVersion };
  } catch (error) {
    throw new DkmsError('TARBALL', 'Malformed dkms.conf, refusing to load.', {
      exitCode: 7,
      cause: error,
      // the conf's own `dkms.conf: Error! ...` lines come first, as dkms prints them
      preface: error instanceof DkmsError ? error.preface : undefined,
      hint: error instanceof Error ? error.message : undefined,
    });
  }
  if (!isModuleWord(ref.module) || !isModuleWord(ref.version)) {
    throw new DkmsError(
      'TARBALL',
      `Refusing to load: its dkms.conf names the module '${ref.module}' version '${ref.version}', which would lead outside the trees.`,
      { exitCode: 7 },
    );
  }
  return ref;
}

/** `dkms_main_tree/<kver>/<arch>` directories: the prebuilt modules, as kernel/arch pairs. */
function prebuiltBuilds(root: string): { kernel: string; arch: string; dir: string }[] {
  const main = join(root, 'dkms_main_tree');
  const list = (dir: string): string[] => (isDir(dir) ? readdirSync(dir).sort(byteOrder) : []);
  return list(main).flatMap((kernel) =>
    list(join(main, kernel))
      .filter((arch) => isDir(join(main, kernel, arch)))
      .map((arch) => ({ kernel, arch, dir: join(main, kernel, arch) })),
  );
}

/** Copies the prebuilt modules into the tree as built, skipping existing builds unless forced. */
function prebuiltSteps(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  root: string,
  force: boolean,
): PackagingStep[] {
  const steps: PackagingStep[] = [];
  for (const build of prebuiltBuilds(root)) {
    if (!isKernelRelease(build.kernel) || !isModuleWord(build.arch)) {
      ctx.reporter.warn(
        `${build.kernel}/${build.arch} is not a kernel release and arch. Skipping...`,
      );
      continue;
    }
    const target = ctx.tree.buildDir({ ...ref, ...build });
    if (!isDir(join(build.dir, 'module'))) {
      ctx.reporter.warn(
        `dkms_main_tree/${build.kernel}/${build.arch} has no module directory. Skipping...`,
      );
    } else if (existsSync(target) && !force) {
      ctx.reporter.warn(`${target} already exists. Skipping...`);
    } else {
      ctx.reporter.info(`Loading ${target}...`);
      steps.push(
        { kind: 'remove', path: target },
        { kind: 'copyTree', from: build.dir, to: target },
      );
    }
  }
  return steps;
}

/**
 * Loads a DKMS tarball (mktarball's format, or any tarball with a dkms.conf): the source into
 * the source tree, prebuilt modules into the dkms tree as built. Does not add the module; the
 * caller does (`dkms add` / `ldtarball`). Members are checked before anything is extracted.
 */
export async function loadTarball(
  ctx: DkmsContext,
  archive: string,
  options: LoadTarballOptions,
): Promise<ModuleVersionRef | undefined> {
  if (!existsSync(archive))
    throw new DkmsError('TARBALL', `${archive} does not exist.`, { exitCode: 2 });
  if (archive.endsWith('.rpm')) {
    throw new DkmsError('USAGE', `${archive} is an RPM package, not a DKMS tarball.`, {
      hint: `Install it with your package manager (rpm -Uvh ${archive}); its scripts call dkms.`,
    });
  }
  return withStaging(ctx, async (root) => {
    await extractArchive(archive, root);
    const layout = detectLayout(root, archive);
    const ref = await packageOf(ctx, join(layout.dir, 'dkms.conf'));
    if (ctx.tree.isAdded(ref) && !options.force) {
      throw new DkmsError(
        'ALREADY_ADDED',
        `${ref.module}/${ref.version} is already added!\nAborting.`,
        {
          exitCode: 8,
          hint: 'Use --force to replace its source and prebuilt modules.',
        },
      );
    }
    const sourceDir = ctx.tree.sourceDir(ref);
    if (layout.kind === 'binaries' && !isDir(sourceDir)) {
      throw new DkmsError(
        'SOURCE_MISSING',
        `${archive} holds binaries only, and the source of ${ref.module}/${ref.version} is not in ${sourceDir}.`,
        { hint: 'Install the module source first, or use a tarball made without --binaries-only.' },
      );
    }
    ctx.reporter.info(`Loading tarball for ${ref.module}/${ref.version}`);
    await withModuleSession(ctx, ref.module, async () => {
      if (layout.kind !== 'binaries') await addSourceTree(ctx, layout.dir, options.force);
      await runSteps(ctx, prebuiltSteps(ctx, ref, root, options.force));
    });
    return ref;
  });
}
