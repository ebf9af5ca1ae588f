import { runTool } from '../core/exec.js';
import { sameFile } from '../status/status.js';
import { moduleFileName } from '../kernel/moduleTree.js';
import { compareVer } from '../util/version.js';

/** What dkms 3.4's check_version_sanity says about one module before installing it. */
export interface SanityVerdict {
  /** Why the module is not installed (printed on stderr); undefined: install it. */
  refusal?: string;
}

interface ModuleVersionInfo {
  version: string;
  srcversion: string;
}

async function moduleVersionInfo(file: string): Promise<ModuleVersionInfo> {
  const result = await runTool('modinfo', [file]);
  const field = (name: string): string =>
    new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(result.stdout)?.[1] ?? '';
  return { version: field('version'), srcversion: field('srcversion') };
}

/** dkms's set_module_suffix: `.ko`, plus the compression any of the kernel's modules uses. */
export function kernelModuleSuffix(kernelModules: readonly string[]): string {
  for (const suffix of ['.zst', '.xz', '.gz'])
    if (kernelModules.some((file) => file.endsWith(`.ko${suffix}`))) return `.ko${suffix}`;
  return '.ko';
}

export interface SanityInput {
  kernel: string;
  /** The module's name (DEST_MODULE_NAME). */
  name: string;
  /** The built file about to be installed. */
  builtFile: string;
  /** Every module file of the kernel's tree, in find(1)'s order (`moduleFiles`). */
  kernelModules: readonly string[];
  force: boolean;
  forceVersionOverride: boolean;
}

/**
 * dkms 3.4's check_version_sanity, in its words: do not replace a module the kernel already
 * has in a newer version, or the very same one (same version and srcversion; for unversioned
 * modules, the same bytes), unless --force; --force-version-override skips the comparison.
 * With several same-named modules dkms compares the first find(1) lists (its warning about
 * them never fires: `read -ra` reads one line), and so do we.
 */
export async function checkVersionSanity(input: SanityInput): Promise<SanityVerdict> {
  const { kernel, name } = input;
  const theirsFile = input.kernelModules.find((file) => moduleFileName(file) === name);
  if (!theirsFile || input.forceVersionOverride || input.force) return {};
  const suffix = kernelModuleSuffix(input.kernelModules);
  const [theirs, ours] = await Promise.all([
    moduleVersionInfo(theirsFile),
    moduleVersionInfo(input.builtFile),
  ]);
  if (theirs.version === ours.version) {
    if (theirs.srcversion !== ours.srcversion) return {};
    if (!ours.version && !ours.srcversion && !sameFile(theirsFile, input.builtFile)) return {};
    const what = ours.version ? `at version ${ours.version}` : '(unversioned module)';
    return {
      refusal: `Module ${theirsFile} already installed ${what}, override by specifying --force`,
    };
  }
  if (compareVer(theirs.version, ours.version) > 0) {
    return {
      refusal: `\nError! Module version ${ours.version} for ${name}${suffix}\nis not newer than what is already found in kernel ${kernel} (${theirs.version}).\nYou may override by specifying --force.`,
    };
  }
  return {};
}
