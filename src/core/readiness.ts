import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export interface MissingModule {
  module: string;
  version: string;
  /** failed: built and failed; building: queued or running; interrupted: the run died. */
  reason: 'failed' | 'building' | 'interrupted';
  code?: string;
  logPath?: string;
}

export interface ReadinessRecord {
  schema: 'dkms-readiness';
  schemaVersion: 1;
  kernel: string;
  arch: string;
  state: ReadinessState;
  policy: FailurePolicy;
  /** ISO time of the last change. */
  updatedAt: string;
  writer: 'dkms' | 'dkmsd';
  /** The process working on the kernel while the state is `building`. */
  pid?: number;
  /** module/version of every AUTOINSTALL module installed for the kernel. */
  installed: string[];
  missing: MissingModule[];
  /** dkms kept the boot loader's default on the running kernel because of this kernel. */
  heldDefault?: boolean;
}

/*
 * Checked by hand, not with zod: every autoinstall and kernel hook reads the record, and zod
 * costs those commands 30 ms to load (bundled; 100 ms unbundled), more than the rest of a
 * no-op autoinstall.
 */
const isString = (value: unknown): value is string => typeof value === 'string';
const optional = <T>(value: unknown, check: (v: unknown) => v is T): value is T | undefined =>
  value === undefined || check(value);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: unknown): value is T =>
    (values as readonly unknown[]).includes(value);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseMissing(value: unknown): MissingModule | undefined {
  if (!isRecord(value)) return undefined;
  const { module, version, reason, code, logPath } = value;
  if (!isString(module) || !isString(version)) return undefined;
  if (!oneOf(['failed', 'building', 'interrupted'] as const)(reason)) return undefined;
  if (!optional(code, isString) || !optional(logPath, isString)) return undefined;
  return {
    module,
    version,
    reason,
    ...(code === undefined ? {} : { code }),
    ...(logPath === undefined ? {} : { logPath }),
  };
}

/** A record as writeReadiness writes it, or undefined; fields it does not know are dropped. */
export function parseReadinessRecord(value: unknown): ReadinessRecord | undefined {
  if (!isRecord(value)) return undefined;
  const { kernel, arch, state, policy, updatedAt, writer, pid, installed, missing, heldDefault } =
    value;
  if (value['schema'] !== 'dkms-readiness' || value['schemaVersion'] !== 1) return undefined;
  if (!isString(kernel) || !isString(arch) || !isString(updatedAt)) return undefined;
  if (!oneOf(READINESS_STATES)(state) || !oneOf(FAILURE_POLICIES)(policy)) return undefined;
  if (!oneOf(['dkms', 'dkmsd'] as const)(writer)) return undefined;
  if (!optional(pid, (v): v is number => typeof v === 'number')) return undefined;
  if (!optional(heldDefault, (v): v is boolean => typeof v === 'boolean')) return undefined;
  if (!Array.isArray(installed) || !installed.every(isString)) return undefined;
  if (!Array.isArray(missing)) return undefined;
  const missingModules = missing.map(parseMissing);
  if (!missingModules.every((m) => m !== undefined)) return undefined;
  return {
    schema: 'dkms-readiness',
    schemaVersion: 1,
    kernel,
    arch,
    state,
    policy,
    updatedAt,
    writer,
    ...(pid === undefined ? {} : { pid }),
    installed,
    missing: missingModules,
    ...(heldDefault === undefined ? {} : { heldDefault }),
  };
}

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
    const parsed = parseReadinessRecord(
      JSON.parse(readFileSync(readinessPath(dkmsTree, kernel), 'utf8')),
    );
    if (!parsed) return undefined;
    record = parsed;
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
