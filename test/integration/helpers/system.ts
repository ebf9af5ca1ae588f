import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** The path of `tool` on PATH, or undefined. */
export function which(tool: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** dpkg's state of a package ("installed", "config-files", ...), or undefined when unknown. */
export function dpkgStatus(pkg: string): string | undefined {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const state = status.trim().split(' ').pop();
    return state === 'not-installed' ? undefined : state;
  } catch {
    return undefined;
  }
}

/**
 * A tiny AUTOINSTALL module `<name>/1.0` in `<sourceTree>/<name>-1.0`; its .ko is `<name>.ko`.
 * Named by the caller so nothing real on the machine collides with it.
 */
export function writeProbeModule(sourceTree: string, name: string): string {
  const dir = join(sourceTree, `${name}-1.0`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'dkms.conf'),
    [
      `PACKAGE_NAME="${name}"`,
      'PACKAGE_VERSION="1.0"',
      `BUILT_MODULE_NAME[0]="${name}"`,
      'DEST_MODULE_LOCATION[0]="/updates/dkms"',
      'AUTOINSTALL="yes"',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'Makefile'), `obj-m := ${name}.o\n`);
  writeFileSync(
    join(dir, `${name}.c`),
    [
      '// SPDX-License-Identifier: GPL-2.0',
      '#include <linux/module.h>',
      'MODULE_LICENSE("GPL");',
      `MODULE_DESCRIPTION("dkms-ts integration probe ${name}");`,
      '',
    ].join('\n'),
  );
  return dir;
}

/** Lines of a file, empty when it does not exist. */
export const fileLines = (path: string): string[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
