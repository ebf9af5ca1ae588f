import type { Logger } from 'pino';
import { MemoryReporter } from '../../core/host.js';
import { runAutoinstallJob } from '../../engine/autoinstall.js';
import type { DkmsContext } from '../../core/context.js';
import type { BuildRunner } from '../../engine/queue/buildQueue.js';

/** Lines of a failed job's output kept in the log record. */
const TAIL_LINES = 15;

/**
 * Runs one queued build through the engine with a context of its own: its own reporter (the
 * job's output is captured, not interleaved), its share of `make -j`, the abort signal.
 */
export function createJobRunner(base: DkmsContext, logger: Logger): BuildRunner {
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
    if (result.status === 'failed' && result.error.code !== 'ABORTED') {
      const output = reporter.lines.slice(-TAIL_LINES).map((line) => line.text.trim());
      logger.warn(
        {
          module: request.module,
          version: request.version,
          kernel: request.kernel,
          code: result.error.code,
          logPath: result.error.logPath,
          output,
        },
        result.error.message,
      );
    }
    return result;
  };
}
