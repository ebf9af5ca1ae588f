import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { DkmsContext } from '../core/context.js';
import { readReadiness } from '../core/readiness.js';
import { runningKernel } from '../kernel/kernels.js';
import { expectedCompression } from '../engine/moduleFile.js';
import { headersPackageHint, kernelSourceDir, readKernelConfig } from '../kernel/kernel.js';
import { headersState } from '../kernel/headers.js';
import { readCertificate } from '../sign/certificate.js';
import { splitSignature, verifySignature } from '../sign/moduleSignature.js';
import { isFile, kernelConfigFor, readSigningInputs } from '../sign/signingInputs.js';
import { kernelForcesSignatures, kernelWantsSignatures, planSigning } from '../sign/signingPlan.js';
import { findModuleFile, installedModuleFile, sameFile } from '../status/status.js';
import type { BuildRef } from '../core/stateTree.js';
import type { InitramfsFacts, KernelFacts, ModuleFileFacts } from './facts.js';
import { initramfsImage, type InitramfsLister } from './initramfs.js';
import { modinfoMany } from './modinfo.js';
import { readModuleImage, type ContentFormat } from '../kernel/moduleImage.js';
import {
  modulesByName,
  moduleNameOf,
  parseModulesBuiltin,
  parseModulesDep,
  readTextOrUndefined,
} from './modulesDep.js';

export async function gatherKernelFacts(
  ctx: DkmsContext,
  kernel: string,
  initramfs: (kernel: string) => Promise<InitramfsFacts>,
  installedModules: number,
): Promise<KernelFacts> {
  const libTree = join(ctx.paths.installTree, kernel);
  const headersDir = kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir);
  const configPath = kernelConfigFor(ctx, kernel);
  const config = configPath ? readKernelConfig(configPath) : undefined;
  const signing = planSigning(await readSigningInputs(ctx, kernel, configPath));
  const certificate =
    signing.sign && !signing.generate ? await readCertificate(signing.mok.certificate) : undefined;
  const modulesDepPath = join(libTree, 'modules.dep');
  const dep = readTextOrUndefined(modulesDepPath);
  return {
    kernel,
    installTree: ctx.paths.installTree,
    headersDir,
    headersPresent: headersState(headersDir).state === 'ready',
    headersPackage: headersPackageHint(kernel, ctx.distro),
    configPath,
    wantsSignatures: kernelWantsSignatures(config),
    forcesSignatures: kernelForcesSignatures(config),
    signing,
    certificate,
    expectedCompression: expectedCompression(ctx.paths.installTree, kernel, config),
    modulesDepPath,
    modulesDep: dep === undefined ? undefined : parseModulesDep(dep),
    builtin: parseModulesBuiltin(readTextOrUndefined(join(libTree, 'modules.builtin')) ?? ''),
    filesByName: modulesByName(libTree),
    initramfs: await initramfs(kernel),
    installedModules,
    readiness: readReadiness(ctx.paths.dkmsTree, kernel),
    running: kernel === runningKernel(),
  };
}

/** Lists a kernel's initramfs (memoized by the caller). */
export async function gatherInitramfs(
  ctx: DkmsContext,
  lister: InitramfsLister,
  kernel: string,
): Promise<InitramfsFacts> {
  if (!lister.tool) return { status: 'no-tool' };
  const image = initramfsImage(ctx.paths.bootDir, kernel);
  if (!image) return { status: 'no-image', bootDir: ctx.paths.bootDir };
  const listing = await lister.list(image);
  return 'error' in listing
    ? { status: 'failed', image, error: listing.error }
    : { status: 'listed', image, tool: lister.tool, entries: listing.entries };
}

interface Unpacked {
  format: ContentFormat;
  /** The uncompressed module written to the scratch dir, for modinfo. */
  plainFile: string | undefined;
  signature: ModuleFileFacts['signature'];
}

/** Uncompresses a module into `scratch` and checks its signature against `certificate`. */
async function unpack(
  file: string,
  scratch: string,
  tag: string,
  certificate: string | undefined,
  tmpLocation: string,
): Promise<Unpacked> {
  const image = await readModuleImage(file);
  if (!image.plain) return { format: image.format, plainFile: undefined, signature: 'unreadable' };
  const plainFile = join(scratch, `${tag}.ko`);
  writeFileSync(plainFile, image.plain);
  const signed = splitSignature(image.plain);
  let signature: ModuleFileFacts['signature'] = 'unsigned';
  if (signed)
    signature =
      certificate && isFile(certificate)
        ? await verifySignature(signed, certificate, tmpLocation)
        : 'no-certificate';
  return { format: image.format, plainFile, signature };
}

/** Reads every module file of one installed build: paths, contents, modinfo, signature. */
export async function gatherModuleFiles(
  ctx: DkmsContext,
  k: KernelFacts,
  ref: BuildRef,
  conf: DkmsConf,
  scratch: string,
): Promise<ModuleFileFacts[]> {
  const certificate = k.signing.sign ? k.signing.mok.certificate : undefined;
  const libTree = join(ctx.paths.installTree, ref.kernel);
  const files: ModuleFileFacts[] = [];
  const plainOf: { installed?: string; built?: string }[] = [];
  for (const [i, entry] of conf.modules.entries()) {
    const built = findModuleFile(ctx.tree.builtModuleDir(ref), entry.destName);
    const installed = installedModuleFile(ctx.paths.installTree, ref.kernel, conf, i);
    const tag = `${ref.module}-${ref.version}-${ref.kernel}-${ref.arch}-${i}`.replace(
      /[^\w.-]/g,
      '_',
    );
    const unpackedInstalled = installed
      ? await unpack(installed, scratch, `${tag}-installed`, certificate, ctx.paths.tmpLocation)
      : undefined;
    const unpackedBuilt = built ? await readModuleImage(built) : undefined;
    let builtPlain: string | undefined;
    if (unpackedBuilt?.plain) {
      builtPlain = join(scratch, `${tag}-built.ko`);
      writeFileSync(builtPlain, unpackedBuilt.plain);
    }
    plainOf.push({ installed: unpackedInstalled?.plainFile, built: builtPlain });
    files.push({
      destName: entry.destName,
      name: moduleNameOf(entry.destName),
      built,
      installed,
      installedRelative: installed ? relative(libTree, installed) : undefined,
      installedSize: installed ? statSync(installed).size : undefined,
      sameAsBuilt: Boolean(built && installed && sameFile(built, installed)),
      format: unpackedInstalled?.format,
      vermagic: undefined,
      builtVermagic: undefined,
      signer: undefined,
      sigKey: undefined,
      signature: unpackedInstalled?.signature ?? 'unreadable',
      initramfsElsewhere: [],
    });
  }
  const info = await modinfoMany(
    plainOf
      .flatMap((p) => [p.installed, p.built])
      .filter((p): p is string => p !== undefined && existsSync(p)),
  );
  files.forEach((file, i) => {
    const installed = plainOf[i]?.installed ? info.get(plainOf[i]?.installed ?? '') : undefined;
    const built = plainOf[i]?.built ? info.get(plainOf[i]?.built ?? '') : undefined;
    file.vermagic = installed?.get('vermagic');
    file.signer = installed?.get('signer');
    file.sigKey = installed?.get('sig_key');
    file.builtVermagic = built?.get('vermagic');
  });
  return files;
}

export const makeScratch = (ctx: DkmsContext): string =>
  mkdtempSync(join(ctx.paths.tmpLocation, 'dkms-doctor.'));
