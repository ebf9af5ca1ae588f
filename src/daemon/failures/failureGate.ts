import { DkmsError } from '../../core/errors.js';
import type { JobResult } from '../../engine/autoinstall.js';
import type { AutoinstallJob } from '../../engine/autoinstallPlan.js';
import type { DkmsContext } from '../../core/context.js';
import type { BuildRef, ModuleVersionRef } from '../../core/stateTree.js';
import type { KernelProbe } from '../watch/kernelProbe.js';
import { join } from 'node:path';
import { headersStamp, headersState } from '../../kernel/headers.js';
import { buildFingerprint } from './fingerprint.js';
import type { FailureMemory, FailureRecord } from './failureMemory.js';

/** Failures that say nothing about the module itself (a full disk...): tried again next time. */
const NOT_A_VERDICT = new Set([
  'ABORTED',
  'BUILD_DEPENDS_MISSING',
  'LOCKED',
  'NO_SPACE',
  'READ_ONLY',
  'PERMISSION_DENIED',
]);

/**
 * Keeps modules that failed from being rebuilt until their source, their conf overrides or
 * the kernel headers change.
 */
export class FailureGate {
  constructor(
    private readonly memory: FailureMemory,
    private readonly ctx: DkmsContext,
    private readonly arch: string,
  ) {}

  /**
   * Splits a plan's jobs into those to build and those that failed before (as failed results,
   * so that what depends on them fails without building too).
   */
  partition(
    probe: KernelProbe,
    jobs: readonly AutoinstallJob[],
    options: { retry: boolean; forced: readonly ModuleVersionRef[] },
  ): { jobs: AutoinstallJob[]; remembered: FailureRecord[]; settled: Map<string, JobResult> } {
    const result = {
      jobs: [] as AutoinstallJob[],
      remembered: [] as FailureRecord[],
      settled: new Map<string, JobResult>(),
    };
    // One look at the headers for the whole plan: they are the same for every job.
    let headers: string | undefined;
    for (const job of jobs) {
      const forced = options.forced.some((ref) => ref.module === job.module);
      headers ??= options.retry || forced ? undefined : this.headersStamp(probe);
      const record =
        options.retry || forced || headers === undefined
          ? undefined
          : this.memory.lookup(this.ref(probe, job), this.fingerprint(job, headers));
      if (!record) {
        result.jobs.push(job);
        continue;
      }
      result.remembered.push(record);
      result.settled.set(job.module, {
        ref: { module: job.module, version: job.version },
        status: 'failed',
        error: new DkmsError('BUILD_FAILED', record.message),
      });
    }
    return result;
  }

  /** Remembers a failed build, forgets one that worked. */
  record(probe: KernelProbe, job: ModuleVersionRef, result: JobResult): void {
    const ref = this.ref(probe, job);
    if (result.status !== 'failed') {
      this.memory.forget(ref);
      return;
    }
    if (NOT_A_VERDICT.has(result.error.code)) return;
    // Failed against headers that are not whole (still unpacking?): says nothing of the module.
    if (!probe.headers || headersState(probe.headers).state !== 'ready') return;
    this.memory.remember({
      ...ref,
      fingerprint: this.fingerprint(job, this.headersStamp(probe)),
      code: result.error.code,
      message: result.error.message,
      ...(result.error.logPath ? { logPath: result.error.logPath } : {}),
      since: new Date().toISOString(),
    });
  }

  forgetKernel(kernel: string): void {
    this.memory.forgetKernel(kernel);
  }

  private ref(probe: KernelProbe, job: ModuleVersionRef): BuildRef {
    return { module: job.module, version: job.version, kernel: probe.kernel, arch: this.arch };
  }

  /** The headers' trees: the build tree and, on Debian, the kernel's `source` (-common). */
  private headersStamp(probe: KernelProbe): string {
    return headersStamp([
      probe.headers ?? '',
      join(this.ctx.paths.installTree, probe.kernel, 'source'),
    ]);
  }

  private fingerprint(ref: ModuleVersionRef, headers: string): string {
    return buildFingerprint({
      sourceDir: this.ctx.tree.sourceLink(ref),
      confDir: this.ctx.paths.confDir,
      headersStamp: headers,
    });
  }
}
