import assert from 'node:assert/strict';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ARCH, type Roots } from './roots.js';

/** Domain assertions on a sandbox's dkms tree and install tree. */
export function assertTree(roots: Roots) {
  return {
    added(module: string, version: string): void {
      const link = join(roots.tree, module, version, 'source');
      assert.ok(lstatSync(link).isSymbolicLink(), `${link} is not a symlink`);
    },
    built(module: string, version: string, kernel: string, arch = ARCH): void {
      const dir = join(roots.tree, module, version, kernel, arch, 'module');
      assert.ok(existsSync(dir), `${module}/${version} not built for ${kernel}: no ${dir}`);
    },
    notBuilt(module: string, version: string, kernel: string, arch = ARCH): void {
      assert.ok(
        !existsSync(join(roots.tree, module, version, kernel, arch)),
        `${module}/${version} is built for ${kernel}`,
      );
    },
    installed(module: string, version: string, kernel: string, arch = ARCH): void {
      const link = join(roots.tree, module, `kernel-${kernel}-${arch}`);
      assert.equal(readlinkSync(link), `${version}/${kernel}/${arch}`);
    },
    notInstalled(module: string, kernel: string, arch = ARCH): void {
      assert.ok(
        !existsSync(join(roots.tree, module, `kernel-${kernel}-${arch}`)),
        `${module} is installed for ${kernel}`,
      );
    },
    moduleFile(kernel: string, relative: string): string {
      const path = join(roots.lib, kernel, relative);
      assert.ok(existsSync(path), `no ${path}`);
      return path;
    },
    noModuleFile(kernel: string, relative: string): void {
      assert.ok(
        !existsSync(join(roots.lib, kernel, relative)),
        `${relative} exists under ${kernel}`,
      );
    },
  };
}
