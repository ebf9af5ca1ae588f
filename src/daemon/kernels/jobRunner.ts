import type { Logger } from 'pino';
import { MemoryReporter } from '../../core/host.js';
import { runAutoinstallJob } from '../../engine/autoinstall.js';
import type { DkmsContext } from '../../core/context.js';
import type { BuildRunner } from '../../engine/queue/buildQueue.js';

/** Lines of a failed job's output kept in the log record. */
const TAIL_LINES = 15;

/** Distinct warnings a dkmsd run puts in its log (each once, not at every build). */
const MAX_WARNINGS = 1000;

/**
 * Runs one queued build through the engine with a context of its own: its own reporter (the
 * job's output is captured, not interleaved), its share of `make -j`, the abort signal. What a
 * build that did not fail warned about (a build sandbox that could not be had, a deprecated
 * directive) goes to the log once per dkmsd run; a failed build's result carries the tail of
 * its output for the "build finished" record.
 */
export function createJobRunner(base: DkmsContext, logger: Logger): BuildRunner {
  const warned = new Set<string>();
  return async (request, makeJobs, signal, jobserver) => {
    const reporter = new MemoryReporter();
    const ctx: DkmsContext = {
      ...base,
      reporter,
      parallelJobs: makeJobs,
      jobserver,
      signal,
      // One job, one unit of work: confs are evaluated afresh, once for build and install.
      confCache: new Map(),
      kernelSourceDir: request.kernelSourceDir ?? base.kernelSourceDir,
    };
    const result = await runAutoinstallJob(
      ctx,
      { module: request.module, version: request.version },
      request.kernel,
      request.arch,
    );
    if (result.status !== 'failed') {
      for (const line of reporter.lines) {
        if (line.level !== 'warn' || warned.has(line.text) || warned.size >= MAX_WARNINGS) continue;
        warned.add(line.text);
        logger.warn({ module: request.module, version: request.version }, line.text);
      }
    }
    if (result.status === 'failed' && result.error.code !== 'ABORTED') {
      // one record per failure: dkmsd's "build finished" carries the output's tail
      return {
        ...result,
        output: reporter.lines.slice(-TAIL_LINES).map((line) => line.text.trim()),
      };
    }
    return result;
  };
}
