import type { KernelFacts } from './facts.js';
import type { Finding } from './findings.js';

/**
 * A kernel's readiness record (docs/readiness.md) as a finding: missing AUTOINSTALL modules
 * are an error on the running kernel and a warning on another (do not boot it yet); a kernel
 * still building is information. No record (autoinstall never ran for it): no finding.
 */
export function readinessFindings(k: KernelFacts): Finding[] {
  const record = k.readiness;
  if (!record) return [];
  const base = { check: 'readiness' as const, kernel: k.kernel, arch: record.arch };
  if (record.state === 'ready')
    return [
      {
        ...base,
        severity: 'ok',
        message: `Every AUTOINSTALL module is installed for ${k.kernel} (${record.installed.length}).`,
      },
    ];
  const modules = record.missing.map((m) => `${m.module}/${m.version}`).join(', ');
  if (record.state === 'building')
    return [
      {
        ...base,
        severity: 'info',
        message: `${record.writer} is building ${modules} for ${k.kernel}; it is not ready to boot yet.`,
      },
    ];
  const logs = record.missing.flatMap((m) => (m.logPath ? [m.logPath] : []));
  return [
    {
      ...base,
      severity: k.running ? 'error' : 'warning',
      message: `${k.kernel} is missing AUTOINSTALL modules: ${record.missing
        .map((m) => `${m.module}/${m.version} (${m.reason}${m.code ? ` ${m.code}` : ''})`)
        .join(', ')}${k.running ? '' : '; booting it now would start without them'}.`,
      ...(logs[0] ? { file: logs[0] } : {}),
      fix: `${logs.length > 0 ? `Read ${logs.join(', ')}, fix the cause, then: ` : ''}dkms autoinstall -k ${k.kernel}`,
    },
  ];
}
