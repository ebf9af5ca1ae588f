import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPaths, type DkmsPaths } from '../../src/core/paths.js';

/** The repository root (tests run from dist/test/...). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const dkmsBin = join(repoRoot, 'bin', 'dkms');
export const dkmsdBin = join(repoRoot, 'bin', 'dkmsd');

export const K47 = '6.1.0-47-amd64';
export const K50 = '6.1.0-50-amd64';
export const ARCH = 'x86_64';

export const headersDir = (kernel: string): string => `/usr/src/linux-headers-${kernel}`;
export const haveHeaders = (kernel: string): boolean =>
  existsSync(join(headersDir(kernel), 'Makefile'));

/** A sandbox: source tree, dkms tree, install tree (`<root>/lib/modules`) and conf dir. */
export interface Roots {
  root: string;
  src: string;
  tree: string;
  lib: string;
  confDir: string;
  /** dkms-ts's caches of this sandbox (DKMS_TS_CACHE_DIR), beside `root`, not in it. */
  cache: string;
  /** The tree options every dkms call in this sandbox gets. */
  treeArgs: string[];
  /** `<lib>/<kernel>/build` -> the real headers. */
  addKernel(kernel: string): void;
  /** Copies `test/fixtures/<name>` into the source tree. */
  addFixture(name: string): string;
  cleanup(): void;
}

export function makeRoots(kernels: string[] = [K47]): Roots {
  const roots = rootsIn(mkdtempSync(join(tmpdir(), 'dkms-test.')));
  for (const dir of [roots.src, roots.tree, roots.lib, roots.confDir])
    mkdirSync(dir, { recursive: true });
  for (const kernel of kernels) roots.addKernel(kernel);
  return roots;
}

/** The sandbox whose root is `root` (its directories are made by the caller). */
export function rootsIn(root: string): Roots {
  const src = join(root, 'src');
  const tree = join(root, 'tree');
  const lib = join(root, 'lib', 'modules');
  const confDir = join(root, 'etc', 'dkms');
  return {
    root,
    src,
    tree,
    lib,
    confDir,
    cache: `${root}.cache`,
    treeArgs: ['--dkmstree', tree, '--sourcetree', src, '--installtree', lib, '--confdir', confDir],
    addKernel(kernel) {
      mkdirSync(join(lib, kernel), { recursive: true });
      symlinkSync(headersDir(kernel), join(lib, kernel, 'build'));
    },
    addFixture(name) {
      const to = join(src, name);
      cpSync(join(fixturesDir, name), to, { recursive: true });
      return to;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
      rmSync(`${root}.cache`, { recursive: true, force: true });
    },
  };
}

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program and resolves with its exit status and output (never rejects). */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunOutput> {
  return new Promise((resolvePromise) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

/** `bin/dkms ARGS <tree options>` in a sandbox. */
export const dkms = (
  roots: Roots,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunOutput> =>
  run(dkmsBin, [...args, ...roots.treeArgs], {
    DKMS_OS_RELEASE: '/etc/os-release',
    DKMS_TS_CACHE_DIR: roots.cache,
    ...env,
  });

/** A suite's skip reason when the two Debian header packages the tests build against are missing. */
export const skipWithoutHeaders: string | false =
  !haveHeaders(K47) || !haveHeaders(K50)
    ? 'kernel headers 6.1.0-47/50 are not installed (run scripts/setup.sh as root)'
    : false;

/** One `modinfo -F FIELD` value of a module file ('' when there is none). */
export const modinfo = async (file: string, field: string): Promise<string> =>
  (await run('modinfo', ['-F', field, file])).stdout.trim();

/** dkms's paths pointed at a sandbox, for a DkmsContext made in a test. */
export const sandboxPaths = (roots: Roots, extra: Partial<DkmsPaths> = {}): DkmsPaths => ({
  ...defaultPaths(),
  dkmsTree: roots.tree,
  sourceTree: roots.src,
  installTree: roots.lib,
  confDir: roots.confDir,
  cacheDir: roots.cache,
  ...extra,
});
