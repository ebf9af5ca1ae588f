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

/** What dkms looks up in a kernel's config: CONFIG_X -> value ("y", "m", strings unquoted). */
export interface KernelConfig {
  get(name: string): string | undefined;
}

/** A kernel's config, or undefined without one. */
export function readKernelConfig(path: string): KernelConfig | undefined {
  return kernelConfigs.get(path);
}

// Kept for the life of dkmsd, keyed on the file's identity: new headers are read again.
const kernelConfigs = new FileMemo(loadKernelConfig);

function loadKernelConfig(path: string): KernelConfig | undefined {
  try {
    return new ConfigText(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The config file's text, searched by name: dkms asks for a handful of its ~10k names, and a
 * Map of all of them costs a few ms to build and a MB per kernel to keep in dkmsd.
 */
class ConfigText implements KernelConfig {
  private readonly text: string;
  // The same few names are asked for every module: each is searched once.
  private readonly found = new Map<string, string | undefined>();

  constructor(text: string) {
    this.text = `\n${text}`;
  }

  get(name: string): string | undefined {
    if (this.found.has(name)) return this.found.get(name);
    const value = this.search(name);
    this.found.set(name, value);
    return value;
  }

  private search(name: string): string | undefined {
    if (!/^CONFIG_\w+$/.test(name)) return undefined;
    const line = `\n${name}=`;
    let at = this.text.indexOf(line);
    if (at < 0) return undefined;
    // The last assignment wins, as when the file is sourced.
    for (let next = at; next >= 0; next = this.text.indexOf(line, at + 1)) at = next;
    at += line.length;
    const end = this.text.indexOf('\n', at);
    return this.text.slice(at, end < 0 ? undefined : end).replace(/^"(.*)"$/, '$1');
  }
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
  config: KernelConfig | undefined,
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
