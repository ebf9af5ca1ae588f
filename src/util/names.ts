/**
 * The one rule for what may travel as a kernel release, a module name or version, an arch or
 * a module file name: usable as a single path component and as a command argument (no `/`,
 * no `..`, no whitespace or control characters, no leading `-`). The hooks apply the same
 * rule (hooks/lib/dkms-hook-lib.sh). Real names pass: `nvidia-current`, `1.0~rc1+git20240101`,
 * `2.1.11-1`, `6.1.0-47-amd64`, `6.12.0-0.rc3.fc42.x86_64+debug`.
 */
export const KERNEL_RELEASE = /^[0-9][A-Za-z0-9._+~-]*$/;
export const MODULE_WORD = /^[A-Za-z0-9_+][A-Za-z0-9._+~-]*$/;
const MAX_NAME = 200;

function wordProblem(value: string, pattern: RegExp, first: string): string | undefined {
  if (value === '') return 'it is empty';
  if (value.includes('/')) return 'it contains "/"';
  if (value.includes('..')) return 'it contains ".."';
  if (/\s/.test(value)) return 'it contains whitespace';
  if (value.length > MAX_NAME) return `it is longer than ${MAX_NAME} characters`;
  if (!pattern.test(value)) {
    return pattern.test(`${first}${value.slice(1)}`)
      ? `it does not start with ${first === '0' ? 'a digit' : 'a letter, a digit, _ or +'}`
      : 'it has characters other than letters, digits and ._+~-';
  }
  return undefined;
}

/** Why `value` is not a kernel release dkms can put into paths and commands, or undefined. */
export const kernelReleaseProblem = (value: string): string | undefined =>
  wordProblem(value, KERNEL_RELEASE, '0');

/** Why `value` is not a usable module name, version, arch or module file name, or undefined. */
export const moduleWordProblem = (value: string): string | undefined =>
  wordProblem(value, MODULE_WORD, 'a');

export const isKernelRelease = (value: string): boolean =>
  kernelReleaseProblem(value) === undefined;
export const isModuleWord = (value: string): boolean => moduleWordProblem(value) === undefined;

/**
 * Why `value` is not a path that stays below the directory it is relative to
 * (BUILT_MODULE_LOCATION, PATCH), or undefined. A leading `/` is allowed: dkms appends these
 * to a directory, so `/x` means `<dir>//x`.
 */
export function relativePathProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'it contains a NUL character';
  if (value.split('/').includes('..')) return 'it contains a ".." path component';
  return undefined;
}
