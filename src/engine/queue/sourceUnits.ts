import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Stop counting here: past it, a module is big whatever the exact number. */
const MAX_ENTRIES = 5000;

/** Compile units (`.c` files) under a module's source, how much a parallel make can use. */
export function countSourceUnits(sourceDir: string): number {
  let units = 0;
  let seen = 0;
  const stack = [sourceDir];
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const dir = stack.pop() ?? '';
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      if (entry.isDirectory()) stack.push(join(dir, entry.name));
      else if (entry.name.endsWith('.c')) units++;
    }
  }
  return Math.max(1, units);
}
