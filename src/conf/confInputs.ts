import type { KernelConfig } from '../kernel/kernel.js';

/** What the conf was evaluated against: the values dkms exposes to it. */
export interface ConfContext {
  module: string;
  moduleVersion: string;
  kernelver: string;
  arch: string;
  kernelSourceDir: string;
  dkmsTree: string;
  /** ID / ID_LIKE of the distribution, for DEST_MODULE_LOCATION remapping. */
  distro: string;
  /** The kernel's config (CONFIG_X -> y/m/n/value), when it could be read. */
  kernelConfig: KernelConfig | undefined;
  /** The file that was read (deprecation notices name it). */
  confPath: string;
  /** The path dkms's `Bad conf file.` names: only the one passed explicitly, else ''. */
  shownConfPath?: string;
}

/** What a conf's evaluation gave: each variable as a sparse array (a scalar is index 0). */
export type RawConf = ReadonlyMap<string, ReadonlyMap<number, string>>;

export const arrayOf = (raw: RawConf, name: string): ReadonlyMap<number, string> =>
  raw.get(name) ?? new Map();
export const scalarOf = (raw: RawConf, name: string): string => raw.get(name)?.get(0) ?? '';
/** bash's ${#ARRAY[@]} for the count is the number of set elements; dkms loops to the max. */
export const arrayLength = (array: ReadonlyMap<number, string>): number =>
  array.size === 0 ? 0 : Math.max(...array.keys()) + 1;
