import { readFileSync } from 'node:fs';
import { FileMemo } from '../core/fileMemo.js';

/** Variables whose value is the same for every kernel a module is evaluated for. */
const KERNEL_INDEPENDENT = new Set([
  'PACKAGE_NAME',
  'PACKAGE_VERSION',
  'dkms_tree',
  'source_tree',
  'install_tree',
  'module',
  'module_version',
]);

/**
 * Whether a conf file's result cannot depend on the kernel: plain assignments whose only
 * expansions are of kernel-independent variables, no command substitution, no sourcing, no
 * redirections. Such a conf is evaluated once for all kernels of a module/version.
 */
export function isKernelIndependent(file: string): boolean {
  return verdicts.get(file);
}

// Kept for the life of dkmsd, keyed on the file's identity: an edited conf is read again.
const verdicts = new FileMemo(judge);

function judge(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const code = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  let independent = !/[`<>]|\$\(/.test(code) && !/(^|[;&|({\s])(\.|source|eval)\s/m.test(code);
  if (independent) {
    for (const match of code.matchAll(/\$\{?([A-Za-z_]\w*|.)/g)) {
      if (!KERNEL_INDEPENDENT.has(match[1] ?? '')) {
        independent = false;
        break;
      }
    }
  }
  return independent;
}
