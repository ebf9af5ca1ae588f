import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { DkmsPaths } from '../core/paths.js';
import { listReadiness, type ReadinessRecord } from '../core/readiness.js';
import { failedLogPath, type StateTree } from '../core/stateTree.js';
import {
  ANNOTATIONS,
  findModuleFile,
  formatStatusLine,
  installedModuleFile,
  type Annotation,
  type ModuleState,
  type StatusEntry,
} from './status.js';

/**
 * The `dkms status --json` document (docs/json-schema.md, docs/dkms-status.schema.json).
 * Bump STATUS_SCHEMA_VERSION on any change a consumer could trip over (removed or renamed
 * field, changed meaning); new optional fields do not bump it.
 */
export const STATUS_SCHEMA_VERSION = 1;

export type AnnotationCode =
  'original-modules' | 'built-modules-missing' | 'built-installed-differ';

const ANNOTATION_CODES: Record<Annotation, AnnotationCode> = {
  [ANNOTATIONS.originalModules]: 'original-modules',
  [ANNOTATIONS.builtMissing]: 'built-modules-missing',
  [ANNOTATIONS.differs]: 'built-installed-differ',
};

export interface BuildResult {
  result: 'success' | 'failure';
  kernel: string;
  arch: string;
  /** make.log of that build: `<kver>/<arch>/log/make.log`, or `<v>/build/make.log` after a failure. */
  makeLog: string;
  /** When the log was last written (ISO 8601). */
  time: string;
}

export interface StatusJsonEntry {
  module: string;
  version: string;
  kernel: string | null;
  arch: string | null;
  state: ModuleState;
  annotations: { code: AnnotationCode; text: Annotation }[];
  /** The `dkms status` line for this entry, byte for byte. */
  line: string;
  paths: {
    /** Where the source link points (`<source_tree>/<m>-<v>`). */
    source: string;
    /** `<dkms_tree>/<m>/<v>/<kver>/<arch>`, null for added/broken. */
    build: string | null;
  };
  /** Per kernel module of the package (empty for added/broken, or when dkms.conf cannot be read). */
  modules: { name: string; built: string | null; installed: string | null }[];
  /** The latest build attempt for this kernel (or, for added, the last failed one), if any. */
  lastBuild: BuildResult | null;
}

export interface StatusDocument {
  schema: 'dkms-status';
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  generator: string;
  paths: { dkmsTree: string; sourceTree: string; installTree: string };
  entries: StatusJsonEntry[];
  /** The readiness record of each kernel that has one (docs/readiness.md). */
  readiness?: ReadinessRecord[];
}

function mtime(path: string): string | undefined {
  try {
    return statSync(path).mtime.toISOString();
  } catch {
    return undefined;
  }
}

/** `DKMS make.log for <m>-<v> for kernel <kver> (<arch>)` (3.4: `<m>/<v>`), the first line dkms writes. */
export function parseMakeLogHeader(text: string): { kernel: string; arch: string } | undefined {
  const match = /make\.log for \S+ for kernel (\S+) \(([^)]+)\)/.exec(text.slice(0, 512));
  return match?.[1] && match[2] ? { kernel: match[1], arch: match[2] } : undefined;
}

/**
 * A failed build's log, left at `<dkms_tree>/<m>/<v>/build/make.log` (and kept as
 * `.failed-<kver>-<arch>.make.log`), with the kernel it was for.
 */
export function failedBuild(
  tree: StateTree,
  entry: { module: string; version: string },
): BuildResult | undefined {
  const makeLog = resolve(tree.buildWorkDir(entry), 'make.log');
  let text: string;
  try {
    text = readFileSync(makeLog, 'utf8');
  } catch {
    return undefined;
  }
  const header = parseMakeLogHeader(text);
  const time = mtime(makeLog);
  if (!header || !time) return undefined;
  // The per-kernel copy survives the next build of another kernel: name that one when it exists.
  const kept = failedLogPath(tree.versionDir(entry), header.kernel, header.arch);
  return { result: 'failure', ...header, makeLog: existsSync(kept) ? kept : makeLog, time };
}

function lastBuildOf(tree: StateTree, entry: StatusEntry): BuildResult | null {
  const failed = failedBuild(tree, entry);
  if (!entry.kernel || !entry.arch) return failed ?? null;
  const makeLog = tree.makeLog({ ...entry, kernel: entry.kernel, arch: entry.arch });
  const time = mtime(makeLog);
  const succeeded: BuildResult | undefined = time
    ? { result: 'success', kernel: entry.kernel, arch: entry.arch, makeLog, time }
    : undefined;
  const failedHere =
    failed && failed.kernel === entry.kernel && failed.arch === entry.arch ? failed : undefined;
  if (failedHere && (!succeeded || failedHere.time > succeeded.time)) return failedHere;
  return succeeded ?? null;
}

function sourceOf(tree: StateTree, entry: StatusEntry): string {
  const link = tree.sourceLink(entry);
  try {
    return resolve(tree.versionDir(entry), readlinkSync(link));
  } catch {
    return tree.sourceDir(entry);
  }
}

/** One JSON entry for a status entry (reads link targets, module paths and log times). */
export function describeEntry(
  tree: StateTree,
  installTree: string,
  entry: StatusEntry,
  conf: DkmsConf | undefined,
): StatusJsonEntry {
  const build =
    entry.kernel && entry.arch ? { ...entry, kernel: entry.kernel, arch: entry.arch } : undefined;
  const modules =
    build && conf
      ? conf.modules.map((module, i) => ({
          name: module.destName,
          built: findModuleFile(tree.builtModuleDir(build), module.destName) ?? null,
          installed:
            entry.state === 'installed'
              ? (installedModuleFile(installTree, build.kernel, conf, i) ?? null)
              : null,
        }))
      : [];
  return {
    module: entry.module,
    version: entry.version,
    kernel: entry.kernel ?? null,
    arch: entry.arch ?? null,
    state: entry.state,
    annotations: entry.annotations.map((text) => ({ code: ANNOTATION_CODES[text], text })),
    line: formatStatusLine(entry),
    paths: { source: sourceOf(tree, entry), build: build ? tree.buildDir(build) : null },
    modules,
    lastBuild: lastBuildOf(tree, entry),
  };
}

export function statusDocument(
  paths: Pick<DkmsPaths, 'dkmsTree' | 'sourceTree' | 'installTree'>,
  entries: StatusJsonEntry[],
  generator: string,
  readiness: ReadinessRecord[] = [],
): StatusDocument {
  return {
    schema: 'dkms-status',
    schemaVersion: STATUS_SCHEMA_VERSION,
    generator,
    paths: {
      dkmsTree: paths.dkmsTree,
      sourceTree: paths.sourceTree,
      installTree: paths.installTree,
    },
    entries,
    readiness,
  };
}

/** The readiness records of the kernels still in the install tree (only `kernels` when given). */
export function kernelReadiness(
  paths: Pick<DkmsPaths, 'dkmsTree' | 'installTree'>,
  kernels: readonly string[] = [],
): ReadinessRecord[] {
  return listReadiness(paths.dkmsTree).filter(
    (record) =>
      (kernels.length === 0 || kernels.includes(record.kernel)) &&
      existsSync(join(paths.installTree, record.kernel)),
  );
}
