import { createRequire } from 'node:module';

/** dkms-ts's version, from package.json (dist/src/daemon -> the repository root). */
export const DKMSD_VERSION: string = (
  createRequire(import.meta.url)('../../../package.json') as { version: string }
).version;
