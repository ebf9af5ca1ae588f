import { copyFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { DkmsContext } from '../core/context.js';
import { DkmsError } from '../core/errors.js';
import type { BuildRef, StateTree } from '../core/stateTree.js';
import { readModuleImage, suffixOf } from '../kernel/moduleImage.js';
import { splitSignature } from '../sign/moduleSignature.js';
import { prepareSigning, signModule } from '../sign/signer.js';
import { kernelConfigFor } from '../sign/signingInputs.js';
import { findModuleFile, installedModuleFile } from '../status/status.js';
import { compress } from './moduleFile.js';

/*
 * dkms sign: re-signs installed modules with the key framework.conf names today (after a MOK
 * change), in the tree and in the kernel's module tree alike, so doctor's "built matches
 * installed" still holds. The old signature is cut off first; compression is kept.
 */

/** Which installed builds to re-sign. */
export interface ResignSelection {
  /** Only this module. @default every module */
  module?: string | undefined;
  /** Only this version of it. @default the installed one(s) */
  version?: string | undefined;
  /** Only these kernels. @default every kernel the module is installed for */
  kernels?: readonly string[] | undefined;
}

/** The installed builds (kernel-<kver>-<arch> links) a selection names. */
export function selectInstalledBuilds(tree: StateTree, selection: ResignSelection): BuildRef[] {
  const kernels = selection.kernels?.length ? new Set(selection.kernels) : undefined;
  return (selection.module ? [selection.module] : tree.modules()).flatMap((module) =>
    tree
      .installLinks(module)
      .filter(
        (link) =>
          (!selection.version || link.version === selection.version) &&
          (!kernels || kernels.has(link.kernel)),
      )
      .map((link) => ({ module, ...link })),
  );
}

export type ResignOutcome =
  | { ref: BuildRef; status: 'signed'; files: string[] }
  /** The kernel does not want signatures, or no sign-file: printed by prepareSigning. */
  | { ref: BuildRef; status: 'not-signing' };

/** A temporary name next to `file`, invisible to dkms's globs. */
const temporary = (file: string, tag: string): string =>
  join(dirname(file), `.${basename(file)}.${tag}-${process.pid}`);

/** One stored module re-signed in place (temporary file, then rename). */
async function resignFile(
  ctx: DkmsContext,
  file: string,
  sign: (plain: string) => Promise<boolean>,
): Promise<void> {
  const image = await readModuleImage(file);
  if (!image.plain)
    throw new DkmsError('SIGN_FAILED', `Cannot read the module ${file} (${image.format}).`);
  const plain = `${temporary(file, 'resign')}.ko`;
  const suffix = suffixOf(file);
  try {
    writeFileSync(plain, splitSignature(image.plain)?.content ?? image.plain);
    if (!(await sign(plain))) throw new DkmsError('SIGN_FAILED', `Could not sign ${file}.`);
    const stored = suffix ? await compress(ctx, plain, suffix) : plain;
    if (stored !== plain + suffix)
      throw new DkmsError('SIGN_FAILED', `Could not compress the re-signed ${file}.`);
    renameSync(stored, file);
  } finally {
    rmSync(plain, { force: true });
    if (suffix) rmSync(plain + suffix, { force: true });
  }
}

/** Copies the re-signed module over the installed one, through a temporary name. */
function reinstall(built: string, installed: string): void {
  const copy = temporary(installed, 'dkms-sign');
  try {
    copyFileSync(built, copy);
    renameSync(copy, installed);
  } finally {
    rmSync(copy, { force: true });
  }
}

/**
 * Re-signs every module of one installed build with the configured key. The caller holds the
 * module lock. Returns the installed files that changed.
 */
export async function resignBuild(
  ctx: DkmsContext,
  ref: BuildRef,
  conf: DkmsConf,
): Promise<ResignOutcome> {
  const signing = await prepareSigning(ctx, ref.kernel, kernelConfigFor(ctx, ref.kernel));
  if (!signing) return { ref, status: 'not-signing' };
  const moduleDir = ctx.tree.builtModuleDir(ref);
  const files: string[] = [];
  for (const [i, entry] of conf.modules.entries()) {
    const built = findModuleFile(moduleDir, entry.destName);
    if (!built)
      throw new DkmsError(
        'NOT_BUILT',
        `${entry.destName} of ${ref.module}/${ref.version} is missing from ${moduleDir}.`,
        { hint: `Rebuild it: dkms install --force ${ref.module}/${ref.version} -k ${ref.kernel}` },
      );
    await resignFile(ctx, built, (plain) => signModule(ctx, signing, plain, built));
    const installed = installedModuleFile(ctx.paths.installTree, ref.kernel, conf, i);
    if (installed) {
      reinstall(built, installed);
      files.push(installed);
    }
  }
  return { ref, status: 'signed', files };
}
