import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { FrameworkConf } from './framework.js';

/*
 * A kernel's readiness: whether every AUTOINSTALL module is in place for it. dkms autoinstall
 * (and kernel_postinst, which the package hooks run) and dkmsd write one record per kernel,
 * `<dkms_tree>/.readiness/<kver>.json`, when they start working on the kernel and when they
 * are done; dkms status --json, dkmsd status, dkms doctor and dkms readiness read it, and so
 * can a boot loader integration. The directory is a dot-name, invisible to dkms's globs.
 */

export const READINESS_STATES = ['ready', 'missing-modules', 'building'] as const;
export type ReadinessState = (typeof READINESS_STATES)[number];

/** framework.conf `autoinstall_failure`: what a failed AUTOINSTALL module does to the hooks. */
export const FAILURE_POLICIES = ['fail', 'warn', 'defer'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];
export const DEFAULT_FAILURE_POLICY: FailurePolicy = 'warn';

const missingModule = z.object({
  module: z.string(),
  version: z.string(),
  /** failed: built and failed; building: queued or running; interrupted: the run died. */
  reason: z.enum(['failed', 'building', 'interrupted']),
  code: z.string().optional(),
  logPath: z.string().optional(),
});

export const readinessRecordSchema = z.object({
  schema: z.literal('dkms-readiness'),
  schemaVersion: z.literal(1),
  kernel: z.string(),
  arch: z.string(),
  state: z.enum(READINESS_STATES),
  policy: z.enum(FAILURE_POLICIES),
  /** ISO time of the last change. */
  updatedAt: z.string(),
  writer: z.enum(['dkms', 'dkmsd']),
  /** The process working on the kernel while the state is `building`. */
  pid: z.number().optional(),
  /** module/version of every AUTOINSTALL module installed for the kernel. */
  installed: z.array(z.string()),
  missing: z.array(missingModule),
  /** dkms kept the boot loader's default on the running kernel because of this kernel. */
  heldDefault: z.boolean().optional(),
});

export type ReadinessRecord = z.infer<typeof readinessRecordSchema>;
export type MissingModule = z.infer<typeof missingModule>;

/** The policy framework.conf sets, and a warning when its value is not one of the three. */
export function failurePolicy(framework: Pick<FrameworkConf, 'autoinstall_failure'>): {
  policy: FailurePolicy;
  warning?: string;
} {
  const value = (framework.autoinstall_failure ?? '').trim();
  if (value === '') return { policy: DEFAULT_FAILURE_POLICY };
  if ((FAILURE_POLICIES as readonly string[]).includes(value))
    return { policy: value as FailurePolicy };
  return {
    policy: DEFAULT_FAILURE_POLICY,
    warning: `autoinstall_failure=${value} in framework.conf is not fail, warn or defer; using ${DEFAULT_FAILURE_POLICY}.`,
  };
}

export const readinessDir = (dkmsTree: string): string => join(dkmsTree, '.readiness');
export const readinessPath = (dkmsTree: string, kernel: string): string =>
  join(readinessDir(dkmsTree), `${kernel}.json`);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A kernel's record, or undefined when there is none (or it cannot be read). A `building`
 * record whose process is gone reads as missing modules, interrupted.
 */
export function readReadiness(dkmsTree: string, kernel: string): ReadinessRecord | undefined {
  let record: ReadinessRecord;
  try {
    const parsed = readinessRecordSchema.safeParse(
      JSON.parse(readFileSync(readinessPath(dkmsTree, kernel), 'utf8')),
    );
    if (!parsed.success) return undefined;
    record = parsed.data;
  } catch {
    return undefined;
  }
  if (record.state !== 'building' || record.pid === undefined || alive(record.pid)) return record;
  return {
    ...record,
    state: 'missing-modules',
    missing: record.missing.map((m) =>
      m.reason === 'building' ? { ...m, reason: 'interrupted' } : m,
    ),
  };
}

/** Every kernel with a record, by name. */
export function listReadiness(dkmsTree: string): ReadinessRecord[] {
  let names: string[];
  try {
    names = readdirSync(readinessDir(dkmsTree));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((name) => readReadiness(dkmsTree, name.slice(0, -'.json'.length)) ?? []);
}

/** Writes a record (temporary name, then rename: readers never see half of one). */
export function writeReadiness(dkmsTree: string, record: ReadinessRecord): void {
  const dir = readinessDir(dkmsTree);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = readinessPath(dkmsTree, record.kernel);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, path);
}

export function removeReadiness(dkmsTree: string, kernel: string): void {
  rmSync(readinessPath(dkmsTree, kernel), { force: true });
}
