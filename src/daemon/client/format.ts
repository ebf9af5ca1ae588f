import type { DaemonStatus, KernelOutcome, RemovalOutcome } from '../../protocol/messages.js';

const names = (refs: readonly { module: string; version: string }[]): string =>
  refs.map((ref) => `${ref.module}/${ref.version}`).join(' ');
const firstLine = (text: string): string => text.split('\n')[0] ?? '';

/** Human lines for finished kernels: `out` for stdout, `err` for the failures. Pure. */
export function formatOutcomes(outcomes: readonly KernelOutcome[]): {
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  for (const outcome of outcomes) {
    const parts: string[] = [];
    if (outcome.installed.length > 0) parts.push(`installed ${names(outcome.installed)}`);
    if (outcome.alreadyInstalled.length > 0)
      parts.push(`already installed ${names(outcome.alreadyInstalled)}`);
    if (outcome.skipped.length > 0) parts.push(`skipped ${names(outcome.skipped)}`);
    if (outcome.failed.length > 0) parts.push(`failed ${names(outcome.failed)}`);
    const steps = (['depmod', 'initramfs', 'udev'] as const).filter(
      (step) => outcome[step].status === 'ran',
    );
    if (steps.length > 0) parts.push(`ran ${steps.join(', ')}`);
    out.push(
      `${outcome.kernel} (${outcome.arch}): ${outcome.result}${parts.length > 0 ? `; ${parts.join('; ')}` : '; nothing to do'}`,
    );
    for (const skip of outcome.skipped)
      out.push(`  ${skip.module}/${skip.version} skipped: ${firstLine(skip.reason)}`);
    for (const failure of outcome.failed) {
      const again = failure.remembered
        ? ' (failed before; not retried until its source or the kernel changes)'
        : '';
      err.push(
        `dkmsd: ${failure.module}/${failure.version} failed for ${outcome.kernel} (${outcome.arch})${again}: ${firstLine(failure.message)}`,
      );
      if (failure.logPath) err.push(`  log: ${failure.logPath}`);
    }
    for (const broken of outcome.broken)
      err.push(`dkmsd: ${broken.module}/${broken.version} is broken (its source is missing)`);
    for (const step of ['depmod', 'initramfs', 'udev'] as const) {
      const result = outcome[step];
      if (result.status === 'failed')
        err.push(
          `dkmsd: ${step} failed for ${outcome.kernel}: ${result.message ?? result.command ?? ''}`,
        );
    }
    if (outcome.error) err.push(`dkmsd: planning ${outcome.kernel} failed: ${outcome.error}`);
    if (outcome.result === 'aborted')
      err.push(`dkmsd: work on ${outcome.kernel} was cancelled (dkmsd is stopping)`);
  }
  return { out, err };
}

export function formatRemoval(outcome: RemovalOutcome): { out: string[]; err: string[] } {
  if (outcome.result === 'failed')
    return {
      out: [],
      err: [`dkmsd: removing modules of ${outcome.kernel} failed: ${outcome.message ?? ''}`],
    };
  return {
    out: [
      `${outcome.kernel} (${outcome.arch}): removed ${outcome.removed.length > 0 ? outcome.removed.join(' ') : 'nothing'}`,
    ],
    err: [],
  };
}

/** `dkmsd status` for people. Pure. */
export function formatStatus(status: DaemonStatus): string[] {
  const lines = [
    `dkmsd ${status.version}, pid ${status.pid}, ${status.state}, since ${status.startedAt}`,
    `socket ${status.socket}; running kernel ${status.runningKernel}`,
    `builds: ${status.jobs.running.length} running, ${status.jobs.waiting.length} waiting`,
  ];
  for (const job of status.jobs.running)
    lines.push(
      `  building ${job.module}/${job.version} for ${job.kernel} (${job.arch}), make -j${job.makeJobs ?? 1}, since ${job.startedAt ?? '?'}`,
    );
  for (const job of status.jobs.waiting)
    lines.push(`  waiting  ${job.module}/${job.version} for ${job.kernel} (${job.arch})`);
  lines.push('kernels:');
  for (const kernel of status.kernels) {
    const last = kernel.lastOutcome;
    const summary = last
      ? `; last run ${last.result} at ${last.finishedAt}${last.installed.length > 0 ? `, installed ${names(last.installed)}` : ''}${last.failed.length > 0 ? `, failed ${names(last.failed)}` : ''}`
      : '';
    const readiness = kernel.readiness
      ? `; ${kernel.readiness.state}${kernel.readiness.missing.length > 0 ? ` (${kernel.readiness.missing.map((m) => `${m.module}/${m.version} ${m.reason}`).join(', ')})` : ''}`
      : '';
    lines.push(`  ${kernel.kernel}: ${kernel.state}${readiness}${summary}`);
  }
  if (status.inhibitors.length > 0) {
    lines.push('shutdown and sleep held off (systemd-inhibit --mode=delay):');
    for (const lock of status.inhibitors)
      lines.push(`  ${lock.kernel}: ${lock.why}, since ${lock.since}`);
  }
  if (status.owed.length > 0) {
    lines.push('owed finish steps (run at the next rescan, kernel-added or start):');
    for (const owed of status.owed)
      lines.push(`  ${owed.kernel} (${owed.arch}): ${owed.steps.join(', ')}`);
  }
  if (status.rememberedFailures.length > 0) {
    lines.push('failed builds (not retried until their source or kernel changes):');
    for (const failure of status.rememberedFailures)
      lines.push(
        `  ${failure.module}/${failure.version} for ${failure.kernel} (${failure.arch})${failure.logPath ? `: ${failure.logPath}` : ''}`,
      );
  }
  return lines;
}
