import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameworkConf } from '../core/framework.js';
import { DkmsError } from '../core/errors.js';
import {
  kernelModuleCompression,
  readKernelConfig,
  type KernelConfig,
  type ModuleCompression,
} from '../kernel/kernel.js';
import { prepareSigning, signModule, type ActiveSigning } from '../sign/signer.js';
import { kernelConfigFor } from '../sign/signingInputs.js';
import type { BuildRef } from '../core/stateTree.js';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';
import { moduleFiles } from '../kernel/moduleTree.js';

export interface BuiltModule {
  name: string;
  builtFile: string;
  destName: string;
  strip: boolean;
}

/** What happens to every module of one build after make: decided once per build. */
export interface ModuleFinishing {
  /** Undefined when modules are not signed (kernel without CONFIG_MODULE_SIG_HASH, no sign-file...). */
  signing: ActiveSigning | undefined;
  compression: ModuleCompression;
}

/** dkms 3.4's defaults; framework.conf's compress_*_opts replace them. */
export const DEFAULT_COMPRESS_OPTS = {
  /** dkms 3.0.10's `gzip -9`; 3.4 leaves gzip at its default level. */
  '.gz': '-9',
  '.xz': '--check=crc32 --lzma2=dict=1MiB',
  '.zst': '-q --rm -T0',
} as const;

const COMPRESSORS = { '.gz': 'gzip', '.xz': 'xz', '.zst': 'zstd' } as const;
const OPTION_NAMES = {
  '.gz': 'compress_gzip_opts',
  '.xz': 'compress_xz_opts',
  '.zst': 'compress_zstd_opts',
} as const;

/** The compressor command line for a module file, framework.conf options split as bash would. */
export function compressCommand(
  suffix: Exclude<ModuleCompression, ''>,
  framework: FrameworkConf,
  file: string,
): { tool: string; args: string[] } {
  const options = framework[OPTION_NAMES[suffix]] ?? DEFAULT_COMPRESS_OPTS[suffix];
  return { tool: COMPRESSORS[suffix], args: [...options.split(/\s+/).filter(Boolean), '-f', file] };
}

/** What the kernel's module tree holds: compressed modules anywhere, plain ones of its own. */
export interface ModuleTreeCompression {
  compressed: Set<Exclude<ModuleCompression, ''>>;
  /** A plain .ko under `<kver>/kernel/`. */
  plainKernelModule: boolean;
}

/** Walks `<install_tree>/<kver>` without following links (build/ and source/ are links). */
export function scanModuleTree(libTree: string): ModuleTreeCompression {
  const found: ModuleTreeCompression = { compressed: new Set(), plainKernelModule: false };
  const kernelDir = `${join(libTree, 'kernel')}/`;
  for (const file of moduleFiles(libTree)) {
    const suffix = /\.ko(\.gz|\.xz|\.zst)?$/.exec(file)?.[1];
    if (suffix) found.compressed.add(suffix as Exclude<ModuleCompression, ''>);
    else if (file.startsWith(kernelDir)) found.plainKernelModule = true;
  }
  return found;
}

/**
 * The compression dkms gives a kernel's modules: what its installed modules use (dkms 3.4's
 * set_module_suffix, .zst over .xz over .gz); with none installed, what its config (or
 * modules.dep) says. Plain in-tree modules mean no compression.
 */
export function chooseCompression(
  tree: ModuleTreeCompression,
  fromConfig: () => ModuleCompression,
): ModuleCompression {
  for (const suffix of ['.zst', '.xz', '.gz'] as const)
    if (tree.compressed.has(suffix)) return suffix;
  if (tree.plainKernelModule) return '';
  return fromConfig();
}

export function expectedCompression(
  installTree: string,
  kernel: string,
  config: KernelConfig | undefined,
): ModuleCompression {
  return chooseCompression(scanModuleTree(join(installTree, kernel)), () =>
    kernelModuleCompression(config, installTree, kernel),
  );
}

/**
 * Decides signing and compression for one build. Signing already prepared for the kernel
 * (prepareKernelAndSigning) is passed in; otherwise it is decided here, printing upstream's
 * signing lines.
 */
export async function prepareFinishing(
  ctx: DkmsContext,
  ref: BuildRef,
  kernelConfig = kernelConfigFor(ctx, ref.kernel),
  prepared?: { signing: ActiveSigning | undefined },
): Promise<ModuleFinishing> {
  const config = kernelConfig ? readKernelConfig(kernelConfig) : undefined;
  const signing = prepared ? prepared.signing : await prepareSigning(ctx, ref.kernel, kernelConfig);
  return { signing, compression: expectedCompression(ctx.paths.installTree, ref.kernel, config) };
}

/** Compresses in place; on failure the plain module is kept, as upstream does. */
export async function compress(
  ctx: DkmsContext,
  stored: string,
  suffix: Exclude<ModuleCompression, ''>,
): Promise<string> {
  const { tool, args } = compressCommand(suffix, ctx.framework, stored);
  const result = await runTool(tool, args);
  const compressed = stored + suffix;
  if (result.exitCode !== 0 || !existsSync(compressed)) {
    rmSync(compressed, { force: true });
    ctx.reporter.warn(
      `${tool} ${args.join(' ')} failed (exit ${result.exitCode}); keeping ${stored} uncompressed.\n${result.stderr.trim()}`,
    );
    return stored;
  }
  rmSync(stored, { force: true });
  return compressed;
}

/**
 * Turns a freshly built .ko into what is stored in the tree's module/ directory, in dkms's
 * order: strip, sign, compress. Returns the stored file (`<dest>.ko[.xz|.zst|.gz]`).
 * Without `finishing` it is decided here (for callers finishing a single module).
 */
export async function finishModule(
  ctx: DkmsContext,
  ref: BuildRef,
  module: BuiltModule,
  moduleDir: string,
  finishing?: ModuleFinishing,
): Promise<string> {
  const plan = finishing ?? (await prepareFinishing(ctx, ref));
  if (module.strip) {
    const result = await runTool('strip', ['-g', module.builtFile]);
    if (result.exitCode !== 0) {
      throw new DkmsError(
        'BUILD_FAILED',
        `strip -g ${module.builtFile} failed: ${result.stderr.trim()}`,
      );
    }
  }
  if (plan.signing) await signModule(ctx, plan.signing, module.builtFile);
  let stored = join(moduleDir, `${module.destName}.ko`);
  copyFileSync(module.builtFile, stored);
  if (plan.compression) stored = await compress(ctx, stored, plan.compression);
  ctx.reporter.verbose(`Stored ${stored} for ${ref.kernel}`);
  return stored;
}
