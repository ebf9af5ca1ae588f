import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileMemo } from '../core/fileMemo.js';

/** Where a kernel's build tree (headers) is: `<install_tree>/<kver>/build` unless overridden. */
export function kernelSourceDir(installTree: string, kernel: string, override?: string): string {
  return override || join(installTree, kernel, 'build');
}

/** The config file dkms exposes as $kernel_config: auto.conf when present, else .config. */
export function kernelConfigPath(sourceDir: string, override?: string): string {
  if (override) return override;
  const auto = join(sourceDir, 'include', 'config', 'auto.conf');
  return existsSync(auto) ? auto : join(sourceDir, '.config');
}

/** CONFIG_X -> value ("y", "m", quoted strings unquoted), or undefined without a config. */
export function readKernelConfig(path: string): ReadonlyMap<string, string> | undefined {
  return kernelConfigs.get(path);
}

// Kept for the life of dkmsd, keyed on the file's identity: new headers are read again.
const kernelConfigs = new FileMemo(parseKernelConfig);

function parseKernelConfig(path: string): ReadonlyMap<string, string> | undefined {
  let config: Map<string, string> | undefined;
  try {
    config = new Map();
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const match = /^(CONFIG_\w+)=(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined)
        config.set(match[1], match[2].replace(/^"(.*)"$/, '$1'));
    }
  } catch {
    config = undefined;
  }
  return config;
}

/** The header package a user should install on this distribution. */
export function headersPackageHint(kernel: string, distro: string): string {
  if (/^(fedora|rhel|centos|ovm)/.test(distro)) return `kernel-devel-${kernel}`;
  if (/^arch/.test(distro)) return 'linux-headers';
  if (/^(sles|suse|opensuse)/.test(distro)) return 'kernel-default-devel';
  return `linux-headers-${kernel}`;
}

export type ModuleCompression = '' | '.gz' | '.xz' | '.zst';

/**
 * How this kernel's own modules are compressed, so ours match: CONFIG_MODULE_COMPRESS_* in
 * its config, else the suffix modules.dep uses.
 */
export function kernelModuleCompression(
  config: ReadonlyMap<string, string> | undefined,
  installTree: string,
  kernel: string,
): ModuleCompression {
  if (config?.get('CONFIG_MODULE_COMPRESS_ZSTD') === 'y') return '.zst';
  if (config?.get('CONFIG_MODULE_COMPRESS_XZ') === 'y') return '.xz';
  if (config?.get('CONFIG_MODULE_COMPRESS_GZIP') === 'y') return '.gz';
  try {
    const dep = readFileSync(join(installTree, kernel, 'modules.dep'), 'utf8').slice(0, 4096);
    const match = /\.ko(\.xz|\.zst|\.gz)?:/.exec(dep);
    return (match?.[1] as ModuleCompression | undefined) ?? '';
  } catch {
    return '';
  }
}
