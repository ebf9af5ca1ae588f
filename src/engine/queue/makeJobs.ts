export interface MakeJobsInput {
  /** `make -j` slots shared by every running build. */
  cpus: number;
  /** Compile units of the build that starts now. */
  units: number;
  /** `make -j` already given to the builds that are running. */
  busy: number;
  /** Compile units of the builds expected to start alongside this one. */
  companions: readonly number[];
}

/**
 * How many `make -j` a build gets when it starts: its share of the free slots, weighted by
 * compile units, so several small modules run side by side with -j1 each and a big one alone
 * gets every CPU. The share is rounded up: a big build that runs long after the small ones
 * are done must not be stuck at -j1 (a little oversubscription while they overlap is cheap).
 * Never more than it has units to compile, never less than 1.
 */
export function makeJobsFor(input: MakeJobsInput): number {
  const free = Math.max(1, input.cpus - input.busy);
  const units = Math.max(1, input.units);
  const others = input.companions.reduce((sum, n) => sum + Math.max(1, n), 0);
  const share = Math.ceil((free * units) / (units + others));
  return Math.max(1, Math.min(share, units, free));
}
