import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, run, type Roots, type RunOutput } from '../helpers/roots.js';

/** Where fetch-upstream.sh put Debian's dkms script and the corpus sources. */
export interface Upstream {
  dkmsScript: string;
  /** corpus package (e.g. `vpoll-dkms`) -> its `usr/src/<name>-<version>` directory */
  sources: Map<string, string>;
}

export type FetchResult = { upstream: Upstream } | { skip: string };

/**
 * Runs scripts/fetch-upstream.sh for dkms and the given corpus packages (and, as root, their
 * build dependencies). Resolves with a skip reason when anything could not be fetched.
 */
export async function fetchUpstream(packages: string[]): Promise<FetchResult> {
  const script = join(repoRoot, 'scripts', 'fetch-upstream.sh');
  const result = await run('bash', [script, '--build-deps', 'dkms', ...packages]);
  const where = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [name, path] = line.split('\t');
    if (name && path) where.set(name, path);
  }
  const dkmsScript = where.get('dkms');
  const missing = ['dkms', ...packages].filter((name) => !where.has(name));
  if (result.code !== 0 || !dkmsScript || missing.length > 0) {
    const tail = result.stderr.trim().split('\n').slice(-3).join('; ');
    return {
      skip: `Debian's dkms or corpus packages could not be fetched (${missing.join(', ') || 'build dependencies'}): ${tail}`,
    };
  }
  where.delete('dkms');
  return { upstream: { dkmsScript, sources: where } };
}

/**
 * Real paths upstream dkms reads or writes whatever its options say: framework.conf and
 * per-module overrides under /etc/dkms, the MOK key under /var/lib/dkms.
 */
export const UPSTREAM_SYSTEM_PATHS = ['/etc/dkms', '/var/lib/dkms'];

/**
 * Runs Debian's dkms script in a sandbox. When one of UPSTREAM_SYSTEM_PATHS exists, the script
 * runs in a private mount namespace with an empty sandbox directory mounted over it, so the
 * comparison never depends on (or changes) this machine's dkms configuration.
 */
export function runUpstream(upstream: Upstream, roots: Roots, args: string[]): Promise<RunOutput> {
  const treeArgs = [
    '--dkmstree',
    roots.tree,
    '--sourcetree',
    roots.src,
    '--installtree',
    roots.lib,
  ];
  const dkmsArgs = [upstream.dkmsScript, ...args, ...treeArgs];
  const hidden = UPSTREAM_SYSTEM_PATHS.filter((path) => existsSync(path));
  if (hidden.length === 0) return run('bash', dkmsArgs);
  const mounts = hidden.map((path, i) => {
    const empty = join(roots.root, 'hidden', String(i));
    mkdirSync(empty, { recursive: true });
    return `mount --bind '${empty}' '${path}' || exit 97;`;
  });
  const script = `${mounts.join(' ')} exec bash "$@"`;
  return run('unshare', [
    '--mount',
    '--propagation',
    'private',
    'bash',
    '-c',
    script,
    'upstream-dkms',
    ...dkmsArgs,
  ]);
}
