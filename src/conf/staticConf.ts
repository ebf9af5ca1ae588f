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
const legacyNames = new FileMemo(findLegacyNames);

/** A conf file's text without its comment lines, or undefined when unreadable. */
function codeOf(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
  } catch {
    return undefined;
  }
}

function judge(file: string): boolean {
  const code = codeOf(file);
  if (code === undefined) return false;
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

/**
 * The names of the old `MAKE_<text>` / `PATCH_<text>` forms these files can set, so that the
 * evaluation asks for those and does not list every shell variable by prefix (`${!MAKE_@}`
 * walks them all: 10k of them when a conf sources the kernel's .config). A file that builds
 * such a name at run time (`MAKE_$x=`, `declare`/`eval` of one) asks for the prefix forms.
 */
export function legacyVariables(files: readonly string[]): string[] {
  const names = new Set<string>();
  for (const file of files) {
    const found = legacyNames.get(file);
    if (found === 'any') return ['MAKE_*', 'PATCH_*'];
    for (const name of found) names.add(name);
  }
  return [...names].sort();
}

function findLegacyNames(file: string): readonly string[] | 'any' {
  const code = codeOf(file) ?? '';
  if (/\b(MAKE|PATCH)_(\$|\\)/.test(code)) return 'any';
  const names = new Set<string>();
  for (const match of code.matchAll(/\b(?:MAKE|PATCH)_\w+/g)) {
    if (!/^(MAKE|PATCH)_MATCH$/.test(match[0])) names.add(match[0]);
  }
  return [...names];
}
