import { join } from 'node:path';
import { repoRoot, run } from '../../helpers/roots.js';

/** Runs scripts/package-deb.sh into `outDir` and returns the .deb's path. */
export async function buildDeb(outDir: string): Promise<string> {
  const built = await run('bash', [join(repoRoot, 'scripts', 'package-deb.sh'), outDir]);
  if (built.code !== 0)
    throw new Error(`package-deb.sh failed (${built.code}):\n${built.stdout}${built.stderr}`);
  return built.stdout.trim().split('\n').at(-1) ?? '';
}

/** One control field of a .deb. */
export const debField = async (deb: string, field: string): Promise<string> =>
  (await run('dpkg-deb', ['-f', deb, field])).stdout.trim();
