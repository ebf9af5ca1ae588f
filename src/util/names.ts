/**
 * What may travel as a kernel release or module name: usable as a path component and a
 * command argument (no `/`, no `..`, no whitespace, no leading `-`). Same rules as the hooks.
 */
export const KERNEL_RELEASE = /^[0-9][A-Za-z0-9._+~-]*$/;
export const MODULE_WORD = /^[A-Za-z0-9_+][A-Za-z0-9._+~-]*$/;

export const isKernelRelease = (value: string): boolean =>
  KERNEL_RELEASE.test(value) && !value.includes('..') && value.length <= 200;
export const isModuleWord = (value: string): boolean =>
  MODULE_WORD.test(value) && !value.includes('..') && value.length <= 200;
