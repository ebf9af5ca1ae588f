import type { DkmsContext } from '../core/context.js';
import {
  failurePolicy,
  listReadiness,
  readReadiness,
  removeReadiness,
  writeReadiness,
  type MissingModule,
  type ReadinessRecord,
} from '../core/readiness.js';
import type { ModuleVersionRef } from '../core/stateTree.js';
import { runningKernel } from '../kernel/kernels.js';
import { holdBootDefault, releaseBootDefault } from './bootDefault.js';

/*
 * Writing a kernel's readiness record (core/readiness.ts) from what an autoinstall run found,
 * and keeping systemd-boot's default entry on the running kernel while another kernel is not
 * ready (docs/readiness.md).
 */

const name = (ref: ModuleVersionRef): string => `${ref.module}/${ref.version}`;

/** What one autoinstall run for a kernel knows, in the words of both the CLI and dkmsd. */
export interface KernelRunResult {
  kernel: string;
  arch: string;
  /** AUTOINSTALL modules installed for the kernel, before or by this run. */
  installed: readonly ModuleVersionRef[];
  failed: readonly (ModuleVersionRef & { code?: string; logPath?: string })[];
  /** Still to build (a `building` record). */
  pending?: readonly ModuleVersionRef[];
}

/** The record for a run's result. Pure. */
export function readinessRecord(
  result: KernelRunResult,
  meta: { policy: ReadinessRecord['policy']; writer: ReadinessRecord['writer']; now: Date },
): ReadinessRecord {
  const missing: MissingModule[] = [
    ...result.failed.map((f) => ({
      module: f.module,
      version: f.version,
      reason: 'failed' as const,
      ...(f.code ? { code: f.code } : {}),
      ...(f.logPath ? { logPath: f.logPath } : {}),
    })),
    ...(result.pending ?? []).map((p) => ({
      module: p.module,
      version: p.version,
      reason: 'building' as const,
    })),
  ];
  const building = (result.pending ?? []).length > 0;
  return {
    schema: 'dkms-readiness',
    schemaVersion: 1,
    kernel: result.kernel,
    arch: result.arch,
    state: building ? 'building' : missing.length > 0 ? 'missing-modules' : 'ready',
    policy: meta.policy,
    updatedAt: meta.now.toISOString(),
    writer: meta.writer,
    ...(building ? { pid: process.pid } : {}),
    installed: result.installed.map(name).sort(),
    missing,
  };
}

/**
 * Records a kernel's readiness. A kernel other than the running one that is not ready keeps
 * systemd-boot's default on the running kernel (unless the policy is `fail`, where the
 * package hooks stop the kernel's boot entry instead); once every kernel held for is ready,
 * the default is given back. Never throws: readiness is a report, not part of the build.
 */
export async function recordReadiness(
  ctx: DkmsContext,
  result: KernelRunResult,
  writer: ReadinessRecord['writer'],
): Promise<ReadinessRecord | undefined> {
  try {
    const { policy, warning } = failurePolicy(ctx.framework);
    if (warning) ctx.reporter.warn(warning);
    const record = readinessRecord(result, { policy, writer, now: new Date() });
    const previous = readReadiness(ctx.paths.dkmsTree, result.kernel);
    let held = previous?.heldDefault === true;
    if (record.state !== 'ready' && policy !== 'fail' && result.kernel !== runningKernel()) {
      held ||= await holdBootDefault(ctx, result.kernel);
    } else if (held) {
      const others = listReadiness(ctx.paths.dkmsTree).filter(
        (r) => r.kernel !== result.kernel && r.heldDefault,
      );
      if (others.length === 0) await releaseBootDefault(ctx, result.kernel);
      held = false;
    }
    const written = held ? { ...record, heldDefault: true } : record;
    writeReadiness(ctx.paths.dkmsTree, written);
    return written;
  } catch (error) {
    ctx.reporter.warn(`Could not record the readiness of ${result.kernel}: ${String(error)}`);
    return undefined;
  }
}

/** A CLI autoinstall run in readiness terms: what was installed, what failed, what is left. */
export function autoinstallRunResult(
  kernel: string,
  arch: string,
  candidates: readonly (ModuleVersionRef & { installed: boolean })[],
  plan: { jobs: readonly ModuleVersionRef[] },
  results?: readonly (
    | { ref: ModuleVersionRef; status: 'installed' | 'already-installed' | 'skipped' }
    | {
        ref: ModuleVersionRef;
        status: 'failed';
        error: { code: string; logPath?: string | undefined };
      }
  )[],
): KernelRunResult {
  const before = candidates.filter((c) => c.installed);
  if (!results) return { kernel, arch, installed: before, failed: [], pending: plan.jobs };
  return {
    kernel,
    arch,
    installed: [
      ...before,
      ...results.flatMap((r) =>
        r.status === 'installed' || r.status === 'already-installed' ? [r.ref] : [],
      ),
    ],
    failed: results.flatMap((r) =>
      r.status === 'failed'
        ? [
            {
              ...r.ref,
              code: r.error.code,
              ...(r.error.logPath ? { logPath: r.error.logPath } : {}),
            },
          ]
        : [],
    ),
  };
}

/**
 * The kernel's modules are going (kernel_prerm, kernel_preinst, dkmsd removing a kernel): its
 * record goes too, and a boot default held for it is given back when no other kernel holds it.
 */
export async function forgetReadiness(ctx: DkmsContext, kernel: string): Promise<void> {
  const record = readReadiness(ctx.paths.dkmsTree, kernel);
  if (!record) return;
  removeReadiness(ctx.paths.dkmsTree, kernel);
  const othersHold = listReadiness(ctx.paths.dkmsTree).some((r) => r.heldDefault);
  if (record.heldDefault && !othersHold) await releaseBootDefault(ctx, kernel);
}
