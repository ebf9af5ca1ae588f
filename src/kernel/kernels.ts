import { readdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { byteOrder } from '../core/stateTree.js';

/** The running kernel's release (`uname -r`); DKMS_RUNNING_KERNEL overrides it for sandboxes. */
export const runningKernel = (): string => process.env['DKMS_RUNNING_KERNEL'] || release();

/** Kernel releases present in the install tree (directory names starting with a digit). */
export function installedKernels(installTree: string): string[] {
  let names: string[];
  try {
    names = readdirSync(installTree);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^[0-9]/.test(name))
    .filter((name) => {
      try {
        return statSync(join(installTree, name)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort(byteOrder);
}
