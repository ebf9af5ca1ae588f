import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { K47 } from '../helpers/roots.js';
import { listing } from './snapshot.js';
import { UPSTREAM_SYSTEM_PATHS, fetchUpstream, type Upstream } from './upstream.js';

export interface CompatSetup {
  /** Why the differential tests cannot run here, or false. */
  skip: string | false;
  upstream: Upstream | undefined;
}

/** Fetches Debian's dkms and the given corpus packages, unless this process is not root. */
export async function compatSetup(packages: string[]): Promise<CompatSetup> {
  if (process.getuid?.() !== 0)
    return { skip: 'not root: Debian dkms needs root to install', upstream: undefined };
  const fetched = await fetchUpstream(packages);
  return 'skip' in fetched
    ? { skip: fetched.skip, upstream: undefined }
    : { skip: false, upstream: fetched.upstream };
}

/** The corpus source of a package and its version, from fetch-upstream.sh's answer. */
export function corpusSource(
  upstream: Upstream,
  deb: string,
  module: string,
): { dir: string; version: string } {
  const dir = upstream.sources.get(deb);
  assert.ok(dir, `fetch-upstream.sh did not report ${deb}`);
  assert.ok(basename(dir).startsWith(`${module}-`), `${dir} is not ${module}-<version>`);
  return { dir, version: basename(dir).slice(module.length + 1) };
}

/** What dkms might touch outside a sandbox: its system paths and the real module tree. */
export const systemState = (): string[] =>
  [...UPSTREAM_SYSTEM_PATHS, `/lib/modules/${K47}`].flatMap((path) =>
    existsSync(path) ? [`${path}:`, ...listing(path)] : [`${path}: absent`],
  );
