import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../helpers/roots.js';

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

/** A one-module package `name-version` (simpleConf + `extra` lines) in the source tree `src`. */
export const writeModule = (src: string, name: string, version: string, extra = ''): void =>
  writeSource(
    join(src, `${name}-${version}`),
    moduleSource(name, { 'dkms.conf': simpleConf(name, version, extra) }),
  );

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

/**
 * A stand-in for an in-kernel module at `path`: an ELF object with nothing but a .modinfo
 * section (with `version=` when given), which is all modinfo and dkms look at.
 */
export async function inKernelModule(path: string, version?: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const c = `${path}.c`;
  const modinfo = `${path}.modinfo`;
  writeFileSync(c, 'int stand_in;\n');
  writeFileSync(
    modinfo,
    `${version ? `version=${version}\0` : ''}license=GPL\0description=in-kernel stand-in\0`,
  );
  try {
    const compile = await run('gcc', ['-c', c, '-o', `${c}.o`]);
    assert.equal(compile.code, 0, compile.stderr);
    const objcopy = await run('objcopy', ['--add-section', `.modinfo=${modinfo}`, `${c}.o`, path]);
    assert.equal(objcopy.code, 0, objcopy.stderr);
  } finally {
    for (const scratch of [c, modinfo, `${c}.o`]) rmSync(scratch, { force: true });
  }
}
