import { failurePolicy, readReadiness, type ReadinessRecord } from '../core/readiness.js';
import { kernelReadiness } from '../status/statusJson.js';
import type { Command } from './types.js';

/** Exit statuses of `dkms readiness`, for boot loader integrations and scripts. */
export const READINESS_EXIT = { ready: 0, 'missing-modules': 1, building: 3, unknown: 4 } as const;

function describe(record: ReadinessRecord): string {
  const base = `${record.kernel}: ${record.state}`;
  if (record.missing.length === 0) return base;
  const modules = record.missing.map(
    (m) =>
      `${m.module}/${m.version} (${m.reason}${m.code ? ` ${m.code}` : ''}${m.logPath ? `, ${m.logPath}` : ''})`,
  );
  return `${base}: ${modules.join(', ')}`;
}

/**
 * dkms readiness [-k KERNEL]... [--json] [--policy]: each kernel's readiness record (every
 * kernel that has one, or the -k ones). Exit 0 when all are ready, else the worst of 1
 * (missing modules), 3 (building), 4 (no record). --policy prints autoinstall_failure.
 */
export const readiness: Command = (ctx, args) => {
  const { policy, warning } = failurePolicy(ctx.framework);
  if (warning) ctx.reporter.warn(warning);
  if (args.policy) return Promise.resolve({ exitCode: 0, output: [policy] });
  const records =
    args.kernels.length > 0
      ? args.kernels.map((kernel) => readReadiness(ctx.paths.dkmsTree, kernel) ?? kernel)
      : kernelReadiness(ctx.paths);
  const states = records.map((r) => (typeof r === 'string' ? 'unknown' : r.state));
  const exitCode = Math.max(0, ...states.map((state) => READINESS_EXIT[state]));
  if (args.json) {
    const known = records.filter((r): r is ReadinessRecord => typeof r !== 'string');
    return Promise.resolve({ exitCode, output: [JSON.stringify(known, null, 2)] });
  }
  const output = records.map((r) =>
    typeof r === 'string' ? `${r}: unknown (no readiness record)` : describe(r),
  );
  return Promise.resolve({ exitCode, output });
};
