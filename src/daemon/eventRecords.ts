import type { Level } from 'pino';
import type { ModuleVersionRef } from '../core/stateTree.js';
import type { JobResult } from '../engine/autoinstall.js';
import type { StartedBuild } from '../engine/queue/buildQueue.js';
import type { KernelOutcome } from '../protocol/messages.js';

/** dkmsd's "build finished" record and its level: a failed build is an error, a cancelled one not. */
export function buildFinishedRecord(
  build: StartedBuild,
  result: JobResult,
  durationMs: number,
): { level: Level; record: Record<string, unknown> } {
  const { module, version, kernel, arch } = build.request;
  const failure =
    result.status === 'failed'
      ? {
          code: result.error.code,
          message: result.error.message,
          logPath: result.error.logPath,
          output: result.output,
        }
      : {};
  // journalctl -p err lists failed builds
  const level: Level =
    result.status !== 'failed' ? 'info' : result.error.code === 'ABORTED' ? 'warn' : 'error';
  return {
    level,
    record: { module, version, kernel, arch, status: result.status, durationMs, ...failure },
  };
}

/** dkmsd's "kernel finished" record. */
export function kernelFinishedRecord(outcome: KernelOutcome): Record<string, unknown> {
  const names = (refs: readonly ModuleVersionRef[]): string[] =>
    refs.map((ref) => `${ref.module}/${ref.version}`);
  return {
    kernel: outcome.kernel,
    result: outcome.result,
    installed: names(outcome.installed),
    skipped: names(outcome.skipped),
    failed: outcome.failed.map((f) => ({
      module: `${f.module}/${f.version}`,
      code: f.code,
      logPath: f.logPath,
      remembered: f.remembered,
    })),
    depmod: outcome.depmod.status,
    initramfs: outcome.initramfs.status,
    udev: outcome.udev.status,
    error: outcome.error,
  };
}
