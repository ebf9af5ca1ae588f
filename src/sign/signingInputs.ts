import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { readFrameworkConf } from '../core/framework.js';
import type { DkmsContext } from '../core/context.js';
import { kernelConfigPath, kernelSourceDir, readKernelConfig } from '../kernel/kernel.js';
import type { SigningInputs } from './signingPlan.js';

export const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

export const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** `command -v NAME` over PATH. */
export function which(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isFile(candidate) && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * dkms 3.4's running_in_chroot (a port of Debian's ischroot): fakechroot, a mount table that
 * differs from init's, or (as root) a root directory that is not init's.
 */
export function runningInChroot(env = process.env): boolean {
  if (
    env['FAKECHROOT'] === 'true' &&
    env['FAKECHROOT_BASE'] !== undefined &&
    (env['LD_PRELOAD'] ?? '').includes('libfakechroot.so')
  )
    return true;
  try {
    if (readFileSync('/proc/1/mountinfo', 'utf8') !== readFileSync('/proc/self/mountinfo', 'utf8'))
      return true;
  } catch {
    // not readable: this check does not apply
  }
  if (process.getuid?.() === 0) {
    try {
      const init = statSync('/proc/1/root');
      const ours = statSync('/');
      if (init.dev !== ours.dev || init.ino !== ours.ino) return true;
    } catch {
      // not readable: this check does not apply
    }
  }
  return false;
}

/** The kernel config dkms uses for a kernel ($kernel_config), when it exists. */
export function kernelConfigFor(ctx: DkmsContext, kernel: string): string | undefined {
  const path = kernelConfigPath(
    kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir),
    ctx.kernelConfigFile,
  );
  return existsSync(path) ? path : undefined;
}

/**
 * Reads what signing for one kernel depends on. framework.conf is read again with
 * $kernelver set, as dkms's lazy read of the signing variables does.
 */
export async function readSigningInputs(
  ctx: DkmsContext,
  kernel: string,
  configPath = kernelConfigFor(ctx, kernel),
): Promise<SigningInputs> {
  const framework = await readFrameworkConf(ctx.paths.confDir, kernel, (text) =>
    ctx.reporter.error(text.replace(/\n$/, '')),
  );
  return {
    kernel,
    distro: ctx.distro,
    kernelConfig: configPath ? readKernelConfig(configPath) : undefined,
    kernelConfigPath:
      configPath ??
      kernelConfigPath(
        kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir),
        ctx.kernelConfigFile,
      ),
    framework,
    dkmsTree: ctx.paths.dkmsTree,
    kernelBuildDir: kernelSourceDir(ctx.paths.installTree, kernel, ctx.kernelSourceDir),
    isFile,
    isExecutable,
    which: (name) => which(name),
    inChroot: () => runningInChroot(),
  };
}
