import type { JobResult } from '../autoinstall.js';
import type { AutoinstallJob } from '../autoinstallPlan.js';
import type { BuildQueue } from './buildQueue.js';

export interface PlanTarget {
  kernel: string;
  arch: string;
  /** @default 0 */
  priority: number;
  signal: AbortSignal;
  /** A job's compile units and expected duration (see buildEstimates.ts). */
  estimate: (job: AutoinstallJob) => { units: number; estimateMs: number };
  /** Jobs already decided without building (remembered failures), by module. */
  settled?: ReadonlyMap<string, JobResult>;
  kernelSourceDir?: string | undefined;
}

/**
 * Queues the jobs of one kernel's autoinstall plan, each after the jobs its BUILD_DEPENDS
 * name. Returns the results' promises in plan order.
 */
export function enqueuePlan(
  queue: BuildQueue,
  jobs: readonly AutoinstallJob[],
  target: PlanTarget,
): Promise<JobResult>[] {
  const byModule = new Map<string, Promise<JobResult>>();
  for (const [module, result] of target.settled ?? [])
    byModule.set(module, Promise.resolve(result));
  return jobs.map((job) => {
    const after = new Map<string, Promise<JobResult>>();
    for (const module of job.after) {
      const result = byModule.get(module);
      if (result) after.set(module, result);
    }
    const request = {
      module: job.module,
      version: job.version,
      kernel: target.kernel,
      arch: target.arch,
      priority: target.priority,
      ...target.estimate(job),
      kernelSourceDir: target.kernelSourceDir,
    };
    const result = queue.enqueue(request, after, target.signal);
    byModule.set(job.module, result);
    return result;
  });
}
