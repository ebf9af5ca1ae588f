import { rmSync } from 'node:fs';
import type { DkmsContext } from '../core/context.js';
import { toDkmsError } from '../core/errors.js';
import { lockModule } from '../core/lock.js';
import { payKernelDepmod } from '../engine/depmod.js';
import { recoverModule } from '../engine/recovery.js';
import type { Finding } from './findings.js';

/** What `dkms doctor --fix` can do about a finding. */
export type Repair =
  /** Finish (or roll back) the module's interrupted command, delete its leftovers. */
  | { kind: 'recover'; module: string }
  /** A temporary copy in the install tree. */
  | { kind: 'removeFile'; kernel: string; path: string }
  /** modules.dep is missing or does not list an installed module. */
  | { kind: 'depmod'; kernel: string };

const needsFix = (finding: Finding): boolean =>
  finding.severity === 'error' || finding.severity === 'warning';

/**
 * The repairs for a set of findings, in the order they must run: interrupted commands
 * first (they may install or remove files), then stray files, then depmod. Pure.
 */
export function planRepairs(findings: readonly Finding[]): Repair[] {
  const recover = new Set<string>();
  const files = new Map<string, string>();
  const depmod = new Set<string>();
  for (const finding of findings.filter(needsFix)) {
    if ((finding.check === 'interrupted' || finding.check === 'litter') && finding.module)
      recover.add(finding.module);
    else if (finding.check === 'litter' && finding.kernel && finding.file)
      files.set(finding.file, finding.kernel);
    else if (finding.check === 'modules-dep' && finding.kernel) depmod.add(finding.kernel);
  }
  // Recovering a module runs the depmod its interrupted command owed, but not necessarily
  // for the kernels doctor found stale: those still get theirs.
  return [
    ...[...recover].map((module): Repair => ({ kind: 'recover', module })),
    ...[...files].map(([path, kernel]): Repair => ({ kind: 'removeFile', kernel, path })),
    ...[...depmod].map((kernel): Repair => ({ kind: 'depmod', kernel })),
  ];
}

/** What one repair did, for the report. */
export interface RepairResult {
  repair: Repair;
  ok: boolean;
  message: string;
}

async function applyRepair(ctx: DkmsContext, repair: Repair): Promise<string> {
  switch (repair.kind) {
    case 'recover': {
      const done = await lockModule(ctx, repair.module, () => recoverModule(ctx, repair.module));
      const parts = [
        done.resumed ? `finished the interrupted ${done.resumed}` : '',
        done.litter.length > 0 ? `removed ${done.litter.join(', ')}` : '',
        done.depmod.length > 0 ? `ran depmod for ${done.depmod.join(', ')}` : '',
      ].filter(Boolean);
      return `${repair.module}: ${parts.join('; ') || 'nothing left to do'}`;
    }
    case 'removeFile':
      rmSync(repair.path, { force: true });
      return `removed ${repair.path}`;
    case 'depmod':
      await payKernelDepmod(ctx, repair.kernel);
      return `ran depmod for ${repair.kernel}`;
  }
}

/** Carries out repairs one after the other; a failing one is reported, the rest still run. */
export async function applyRepairs(
  ctx: DkmsContext,
  repairs: readonly Repair[],
): Promise<RepairResult[]> {
  const results: RepairResult[] = [];
  for (const repair of repairs) {
    try {
      results.push({ repair, ok: true, message: await applyRepair(ctx, repair) });
    } catch (error) {
      results.push({ repair, ok: false, message: toDkmsError(error).message });
    }
  }
  return results;
}
