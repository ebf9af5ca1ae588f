import { createRequire } from 'node:module';

// Set by the bundler (scripts/bundle.mjs); the unbundled build reads package.json instead.
declare const DKMS_TS_BUNDLED_VERSION: string | undefined;

/** dkms-ts's own version: the bundle's, else package.json's (dist/src/core -> the repository root). */
export const PACKAGE_VERSION: string =
  typeof DKMS_TS_BUNDLED_VERSION === 'string'
    ? DKMS_TS_BUNDLED_VERSION
    : (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
/** The upstream dkms release whose behaviour `dkms` reproduces. */
export const DKMS_COMPAT_VERSION = '3.4.3';

/** What `dkms --version` prints after `dkms-`; dkmsd and doctor report the same string. */
export const DKMS_VERSION = `${DKMS_COMPAT_VERSION}-ts.${PACKAGE_VERSION}`;
