import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A module source as an object literal: relative path -> content (`+x` in the key: executable). */
export type SourceFiles = Record<string, string>;

/** A one-file module `name` that builds with the kernel's kbuild. */
export const moduleSource = (name: string, extra: SourceFiles = {}): SourceFiles => ({
  Makefile: `obj-m := ${name}.o\n`,
  [`${name}.c`]: [
    '#include <linux/module.h>',
    `static int __init ${name}_init(void) { return 0; }`,
    `static void __exit ${name}_exit(void) { }`,
    `module_init(${name}_init);`,
    `module_exit(${name}_exit);`,
    'MODULE_LICENSE("GPL");',
    '',
  ].join('\n'),
  ...extra,
});

/** `dkms.conf` lines for a one-module package installed under /updates/dkms. */
export const simpleConf = (name: string, version: string, extra = ''): string =>
  `PACKAGE_NAME="${name}"\nPACKAGE_VERSION="${version}"\nBUILT_MODULE_NAME[0]="${name}"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nAUTOINSTALL="yes"\n${extra}`;

/** Writes the files under `dir`; a key ending in ` +x` is made executable. */
export function writeSource(dir: string, files: SourceFiles): void {
  for (const [key, content] of Object.entries(files)) {
    const executable = key.endsWith(' +x');
    const path = join(dir, executable ? key.slice(0, -3) : key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (executable) chmodSync(path, 0o755);
  }
}
