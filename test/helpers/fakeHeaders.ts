import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A kernel build tree with the parts named (a Makefile, include/config/auto.conf, scripts/). */
export function fakeHeaders(
  dir: string,
  parts: ('Makefile' | 'include' | 'auto.conf' | 'scripts')[],
): string {
  mkdirSync(dir, { recursive: true });
  if (parts.includes('Makefile')) writeFileSync(join(dir, 'Makefile'), 'all:\n');
  if (parts.includes('include')) mkdirSync(join(dir, 'include', 'generated'), { recursive: true });
  if (parts.includes('auto.conf')) {
    mkdirSync(join(dir, 'include', 'config'), { recursive: true });
    writeFileSync(join(dir, 'include', 'config', 'auto.conf'), 'CONFIG_X=y\n');
  }
  if (parts.includes('scripts')) mkdirSync(join(dir, 'scripts'), { recursive: true });
  return dir;
}
