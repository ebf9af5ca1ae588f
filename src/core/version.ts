import { createRequire } from 'node:module';

/** dkms-ts's own version, from package.json (dist/src/core -> the repository root). */
export const PACKAGE_VERSION: string = (
  createRequire(import.meta.url)('../../../package.json') as { version: string }
).version;

/** The upstream dkms release whose behaviour `dkms` reproduces. */
export const DKMS_COMPAT_VERSION = '3.4.3';

/** What `dkms --version` prints after `dkms-`; dkmsd and doctor report the same string. */
export const DKMS_VERSION = `${DKMS_COMPAT_VERSION}-ts.${PACKAGE_VERSION}`;
