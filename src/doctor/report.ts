import { DKMS_VERSION as VERSION } from '../core/version.js';
import {
  countBySeverity,
  doctorExitCode,
  SEVERITY_ORDER,
  type Finding,
  type Severity,
} from './findings.js';
import type { Repair, RepairResult } from './repair.js';

/** Bumped on any incompatible change of the document below (docs/doctor.md). */
export const DOCTOR_SCHEMA_VERSION = 1;

export interface DoctorDocument {
  schema: 'dkms-doctor';
  schemaVersion: typeof DOCTOR_SCHEMA_VERSION;
  generator: string;
  kernels: string[];
  /** 0 when nothing is wrong, 1 when some finding is an error: the exit status. */
  exitCode: number;
  summary: Record<Severity, number>;
  findings: Finding[];
  /** With --fix: what was repaired before the checks ran again. */
  repairs?: { repair: Repair['kind']; ok: boolean; message: string }[];
}

export function doctorDocument(
  findings: readonly Finding[],
  kernels: readonly string[],
  repairs?: readonly RepairResult[],
): DoctorDocument {
  return {
    schema: 'dkms-doctor',
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    generator: `dkms-ts ${VERSION}`,
    kernels: [...kernels],
    exitCode: doctorExitCode(findings),
    summary: countBySeverity(findings),
    findings: [...findings],
    ...(repairs
      ? { repairs: repairs.map((r) => ({ repair: r.repair.kind, ok: r.ok, message: r.message })) }
      : {}),
  };
}

/** --fix's lines: one per repair, before the findings. */
export function formatRepairs(repairs: readonly RepairResult[] | undefined): string[] {
  if (!repairs) return [];
  if (repairs.length === 0) return ['dkms doctor --fix: nothing to repair.'];
  return repairs.map((r) => `${r.ok ? 'FIXED' : 'FAILED'}`.padEnd(8) + r.message);
}

const LABELS: Record<Severity, string> = {
  error: 'ERROR',
  warning: 'WARNING',
  unknown: 'UNKNOWN',
  info: 'INFO',
  ok: 'OK',
};

function subject(finding: Finding): string {
  const parts = [
    finding.module && finding.version ? `${finding.module}/${finding.version}` : undefined,
    finding.kernel,
  ].filter(Boolean);
  return parts.length ? `${parts.join(', ')}: ` : '';
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Text for a terminal: the problems, worst first (in check order within a severity), each
 * with its fix; `verbose` also lists the checks that passed. Ends with a one-line summary.
 */
export function formatFindings(
  findings: readonly Finding[],
  options: { verbose?: boolean } = {},
): string[] {
  const shown = options.verbose
    ? SEVERITY_ORDER
    : SEVERITY_ORDER.filter((s) => s !== 'ok' && s !== 'info');
  const lines: string[] = [];
  for (const severity of shown) {
    for (const finding of findings.filter((f) => f.severity === severity)) {
      lines.push(
        `${LABELS[severity].padEnd(8)}${subject(finding)}[${finding.check}] ${finding.message}`,
      );
      if (finding.fix) lines.push(`${' '.repeat(8)}fix: ${finding.fix}`);
    }
  }
  const counts = countBySeverity(findings);
  const summary = `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.unknown} unknown; ${plural(counts.ok, 'check')} passed.`;
  lines.push(
    counts.error === 0 && counts.warning === 0 && counts.unknown === 0
      ? `dkms doctor: no problems found (${summary})`
      : `dkms doctor: ${summary}`,
  );
  return lines;
}
