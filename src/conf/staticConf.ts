import { readFileSync } from 'node:fs';

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

const cache = new Map<string, boolean>();

/**
 * Whether a conf file's result cannot depend on the kernel: plain assignments whose only
 * expansions are of kernel-independent variables, no command substitution, no sourcing, no
 * redirections. Such a conf is evaluated once for all kernels of a module/version.
 */
export function isKernelIndependent(file: string): boolean {
  const known = cache.get(file);
  if (known !== undefined) return known;
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
  cache.set(file, independent);
  return independent;
}
