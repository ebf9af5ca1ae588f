import type { StartedBuild } from '../engine/queue/buildQueue.js';

/** The one-line STATUS= systemd shows: what is being built right now. Pure. */
export function statusLine(
  running: readonly StartedBuild[],
  waiting: number,
  failedModules: number,
): string {
  if (running.length === 0) {
    return failedModules > 0
      ? `Idle; ${failedModules} module build(s) failed (dkmsd status)`
      : 'Idle; all modules up to date';
  }
  const names = running.map(
    (build) => `${build.request.module}/${build.request.version} for ${build.request.kernel}`,
  );
  return `Building ${names.join(', ')}${waiting > 0 ? ` (${waiting} waiting)` : ''}`;
}
