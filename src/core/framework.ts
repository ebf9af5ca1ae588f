import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scalar } from './bashEval.js';
import { evaluateCached } from './cachedEval.js';
import { cacheDirFrom } from './cacheFiles.js';
import { defaultParallelJobs, defaultPaths, type DkmsPaths } from './paths.js';

/** Variables dkms 3.x accepts from framework.conf (everything else stays in the script). */
export const FRAMEWORK_VARIABLES = [
  'source_tree',
  'dkms_tree',
  'install_tree',
  'tmp_location',
  'verbose',
  'symlink_modules',
  'autoinstall_all_kernels',
  'modprobe_on_install',
  'parallel_jobs',
  'compress_gzip_opts',
  'compress_xz_opts',
  'compress_zstd_opts',
  'build_environment',
  'post_transaction',
  'sign_file',
  'mok_signing_key',
  'mok_certificate',
  'try_sign_modules',
  // dkms-ts only: the build sandbox (docs/sandbox.md) and the readiness policy (docs/readiness.md)
  'build_sandbox',
  'build_sandbox_exempt',
  'build_sandbox_user',
  'autoinstall_failure',
] as const;

export type FrameworkVariable = (typeof FRAMEWORK_VARIABLES)[number];

/** framework.conf as read: only the variables the files set. */
export type FrameworkConf = Partial<Record<FrameworkVariable, string>>;

/** The framework.conf files in the order dkms sources them. */
export function frameworkFiles(confDir: string): string[] {
  const files = [join(confDir, 'framework.conf')];
  try {
    const extra = readdirSync(join(confDir, 'framework.conf.d'))
      .filter((name) => name.endsWith('.conf'))
      .sort();
    files.push(...extra.map((name) => join(confDir, 'framework.conf.d', name)));
  } catch {
    // no framework.conf.d: nothing more to read
  }
  return files;
}

/**
 * Reads framework.conf and framework.conf.d/*.conf with bash. `kernelver` is set when the
 * caller needs per-kernel values (sign_file, mok_* may use $kernelver). What the files write
 * to stderr (their own messages, bash's syntax errors) goes to `stderr`, as it reaches the
 * terminal when dkms sources them.
 */
export async function readFrameworkConf(
  confDir: string,
  kernelver?: string,
  stderr?: (text: string) => void,
  cacheDir: string | undefined = cacheDirFrom(),
): Promise<FrameworkConf> {
  const files = frameworkFiles(confDir).filter((file) => existsSync(file));
  if (files.length === 0) return {};
  // Debian's framework.conf is only comments: kept, it costs no bash (src/core/cachedEval.ts)
  const [result] = await evaluateCached(
    [
      {
        files,
        variables: kernelver === undefined ? {} : { kernelver },
        whitelist: FRAMEWORK_VARIABLES,
      },
    ],
    cacheDir,
  );
  const conf: FrameworkConf = {};
  if (!result) return conf;
  if (result.stderr) stderr?.(result.stderr);
  for (const name of FRAMEWORK_VARIABLES) {
    const value = scalar(result, name);
    if (value !== undefined) conf[name] = value;
  }
  return conf;
}

/** Settings from the command line; they win over framework.conf. */
export interface PathOverrides {
  dkmsTree?: string | undefined;
  sourceTree?: string | undefined;
  installTree?: string | undefined;
  confDir?: string | undefined;
}

/** Combines defaults, framework.conf and command-line overrides, in rising precedence. */
export function resolvePaths(
  framework: FrameworkConf,
  overrides: PathOverrides,
  env = process.env,
): DkmsPaths {
  const base = defaultPaths(env);
  return {
    ...base,
    confDir: overrides.confDir ?? base.confDir,
    dkmsTree: overrides.dkmsTree ?? (framework.dkms_tree || base.dkmsTree),
    sourceTree: overrides.sourceTree ?? (framework.source_tree || base.sourceTree),
    installTree: overrides.installTree ?? (framework.install_tree || base.installTree),
    tmpLocation: framework.tmp_location || base.tmpLocation,
  };
}

/**
 * make's -j: `-j N`, else framework.conf's parallel_jobs, else `parallel_jobs` from the
 * environment (dkms sources framework.conf over its own environment), else the CPU count.
 * 0 is dkms's "no limit": make gets a bare `-j`.
 */
export function parallelJobs(framework: FrameworkConf, cli?: number, env = process.env): number {
  if (cli !== undefined && cli >= 0) return cli;
  for (const value of [framework.parallel_jobs, env['parallel_jobs']]) {
    const jobs = Number(value);
    if (value && Number.isInteger(jobs) && jobs >= 0) return jobs;
  }
  return defaultParallelJobs();
}
