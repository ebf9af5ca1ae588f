import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsContext } from '../core/context.js';

/** Runs `body` with a fresh temporary directory (dkms's `mktemp -d dkms.XXXXXX`), always removed. */
export async function withStaging<T>(
  ctx: DkmsContext,
  body: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(ctx.paths.tmpLocation, 'dkms.'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
