/**
 * Where Debian sid's dkms 3.2.2 (the runnable oracle) and dkms 3.4.3 (the target, read from
 * its dkms.in) word the same thing differently. The oracle's output is rewritten to 3.4.3's
 * wording before it is compared; each rule is a golden fact about 3.4.3.
 */
const REWRITES: { why: string; from: RegExp; to: string }[] = [
  {
    why: '3.4 words the BUILD_EXCLUSIVE skip for per-module exclusions',
    from: /includes a BUILD_EXCLUSIVE directive\nwhich does not match this kernel\/arch\/config\.\n/g,
    to: 'includes BUILD_EXCLUSIVE directives\nwhich do not match this kernel/arch/config for any modules.\n',
  },
  {
    why: '3.4 names no package for missing headers (prepare_kernel)',
    from: /Please install the linux-headers-(\S+) package or use the --kernelsourcedir option/g,
    to: "Please install your distribution's kernel headers package matching $1, or use the --kernelsourcedir option",
  },
];

/** The oracle's output in dkms 3.4.3's wording. */
export const as343 = (text: string): string =>
  REWRITES.reduce((out, rule) => out.replace(rule.from, rule.to), text);

/** What the comparison rewrites, for failure messages. */
export const rewritten = (): string => REWRITES.map((rule) => rule.why).join('; ');
