import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import { buildEnv } from '../core/exec.js';

/** The package that provides a tool, per packaging family, for the "install it" hint. */
export interface ToolPackages {
  debian: string;
  rpm: string;
}

/** The tool's path on PATH (the one child processes see), or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (buildEnv()['PATH'] ?? '').split(':')) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Fails early, before anything is staged, when a packaging tool is missing. */
export function requireTool(
  name: string,
  action: string,
  packages: ToolPackages,
  distro: string,
): string {
  const path = findTool(name);
  if (path) return path;
  const rpmFamily = /^(fedora|rhel|centos|ovm|suse|opensuse|sles|rocky|almalinux|mageia)/.test(
    distro,
  );
  throw new DkmsError('USAGE', `dkms ${action} needs ${name}, which is not installed.`, {
    hint: rpmFamily
      ? `Install it with: dnf install ${packages.rpm} (or zypper install ${packages.rpm}).`
      : `Install it with: apt-get install ${packages.debian}.`,
  });
}
