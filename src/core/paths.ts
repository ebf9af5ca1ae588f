import { existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { cacheDirFrom } from './cacheFiles.js';

/**
 * Every location dkms reads or writes. All of them can be moved (command-line options,
 * framework.conf, environment) so tests and sandboxes run in temporary roots.
 */
export interface DkmsPaths {
  /** @default '/var/lib/dkms' */
  dkmsTree: string;
  /** @default '/usr/src' */
  sourceTree: string;
  /** @default '/lib/modules' */
  installTree: string;
  /** Holds framework.conf and per-module overrides. @default '/etc/dkms' (env DKMS_CONFDIR) */
  confDir: string;
  /** Where System.map, config-<kver> and initramfs images live. @default '/boot' (env DKMS_BOOTDIR) */
  bootDir: string;
  /** @default '/etc/os-release' (env DKMS_OS_RELEASE) */
  osRelease: string;
  /** @default os.tmpdir() */
  tmpLocation: string;
  /**
   * dkms-ts's own caches (code cache, evaluated plain dkms.conf files): nothing in it is needed.
   * Unset: no cache. @default '/var/cache/dkms-ts' (env DKMS_TS_CACHE_DIR)
   */
  cacheDir?: string;
}

export const defaultPaths = (env: NodeJS.ProcessEnv = process.env): DkmsPaths => ({
  dkmsTree: '/var/lib/dkms',
  sourceTree: '/usr/src',
  installTree: '/lib/modules',
  confDir: env['DKMS_CONFDIR'] || '/etc/dkms',
  bootDir: env['DKMS_BOOTDIR'] || '/boot',
  osRelease: env['DKMS_OS_RELEASE'] || findOsRelease(OS_RELEASE_FILES) || '/etc/os-release',
  tmpLocation: tmpdir(),
  cacheDir: cacheDirFrom(env),
});

/** Where dkms looks for os-release, in order (DKMS_OS_RELEASE replaces both). */
export const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'];

/** The first os-release file that exists, or undefined (dkms then exits 4). */
export const findOsRelease = (files: readonly string[]): string | undefined =>
  files.find((file) => existsSync(file));

export const defaultParallelJobs = (): number => availableParallelism();
