import { readdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { byteOrder } from '../core/stateTree.js';
import { isKernelRelease } from '../util/names.js';

/** The running kernel's release (`uname -r`); DKMS_RUNNING_KERNEL overrides it for sandboxes. */
export const runningKernel = (): string => process.env['DKMS_RUNNING_KERNEL'] || release();

/**
 * Kernel releases present in the install tree: directories whose name is a kernel release
 * (util/names.ts, the rule the hooks and the socket protocol use too), in byte order.
 */
export function installedKernels(installTree: string): string[] {
  let names: string[];
  try {
    names = readdirSync(installTree);
  } catch {
    return [];
  }
  return names
    .filter(isKernelRelease)
    .filter((name) => {
      try {
        return statSync(join(installTree, name)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort(byteOrder);
}
