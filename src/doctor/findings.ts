/** How bad a finding is. Only `error` makes `dkms doctor` exit non-zero. */
export type Severity = 'ok' | 'info' | 'warning' | 'error' | 'unknown';

/** Every check doctor runs; stable identifiers (the JSON output uses them). */
export const CHECKS = [
  'secure-boot',
  'sandbox',
  'signing-setup',
  'headers',
  'readiness',
  'modules-dep',
  'conf',
  'installed-file',
  'vermagic',
  'built-matches-installed',
  'signature',
  'signer-enrolled',
  'compression',
  'shadowing',
  'initramfs',
  'interrupted',
  'litter',
] as const;
export type CheckId = (typeof CHECKS)[number];

export interface Finding {
  check: CheckId;
  severity: Severity;
  kernel?: string;
  arch?: string;
  module?: string;
  version?: string;
  /** The file the finding is about (installed module, modules.dep, initramfs image...). */
  file?: string;
  message: string;
  /** What to do about it: every warning, error and unknown has one. */
  fix?: string;
}

export const SEVERITY_ORDER: readonly Severity[] = ['error', 'warning', 'unknown', 'info', 'ok'];

/** dkms doctor's exit status: 1 when anything is wrong (an error finding), else 0. */
export const doctorExitCode = (findings: readonly Finding[]): number =>
  findings.some((f) => f.severity === 'error') ? 1 : 0;

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { ok: 0, info: 0, warning: 0, error: 0, unknown: 0 };
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}

/** A dkms command line naming one module build, for fixes. */
export function dkmsCommand(
  action: string,
  ref: { module: string; version: string; kernel: string; arch: string },
  defaultArch: string,
  extra = '',
): string {
  const kernel = ref.arch === defaultArch ? ref.kernel : `${ref.kernel}/${ref.arch}`;
  return `dkms ${action}${extra ? ` ${extra}` : ''} ${ref.module}/${ref.version} -k ${kernel}`;
}
