import { loadConfs } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { BuildRef } from '../tree/stateTree.js';
import {
  annotate,
  brokenMessage,
  collectStatus,
  formatStatusLine,
  type StatusEntry,
  type StatusFilter,
} from '../tree/status.js';
import type { DkmsContext } from '../engine/context.js';
import type { Command } from './types.js';

/** Status entries with annotations; every dkms.conf is evaluated in one bash process. */
export async function computeStatus(
  ctx: DkmsContext,
  filter: StatusFilter,
): Promise<StatusEntry[]> {
  const entries = collectStatus(ctx.tree, filter);
  const built = entries.filter(
    (e): e is StatusEntry & BuildRef => e.kernel !== undefined && e.arch !== undefined,
  );
  const confs = await loadConfs(ctx, built);
  const confOf = new Map<StatusEntry, DkmsConf | undefined>();
  built.forEach((entry, i) => {
    const outcome = confs[i];
    confOf.set(entry, outcome?.ok ? outcome.conf : undefined);
  });
  for (const entry of built) {
    entry.annotations = annotate(ctx.tree, ctx.paths.installTree, entry, confOf.get(entry));
  }
  return entries;
}

export const status: Command = async (ctx, args) => {
  const kernels = args.kernels.length > 0 ? args.kernels : [undefined];
  const output: string[] = [];
  for (const [i, kernel] of kernels.entries()) {
    const filter: StatusFilter = {
      module: args.module,
      version: args.moduleVersion,
      kernel,
      arch: args.arches[i],
    };
    const entries = await computeStatus(ctx, filter);
    for (const entry of entries) {
      output.push(formatStatusLine(entry));
      if (entry.state === 'broken') ctx.reporter.error(brokenMessage(entry));
    }
  }
  return { exitCode: 0, output };
};
