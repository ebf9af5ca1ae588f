import { loadConfs } from '../conf/loadConf.js';
import type { DkmsConf } from '../conf/dkmsConf.js';
import type { BuildRef } from '../core/stateTree.js';
import {
  annotate,
  brokenMessage,
  collectStatus,
  formatStatusLine,
  type StatusEntry,
  type StatusFilter,
} from '../status/status.js';
import type { StatusJsonEntry } from '../status/statusJson.js';
import type { DkmsContext } from '../core/context.js';
import type { Command } from './types.js';

/** Status entries with annotations and the conf each built entry was annotated with. */
export async function computeStatusWithConfs(
  ctx: DkmsContext,
  filter: StatusFilter,
): Promise<{ entries: StatusEntry[]; confOf: Map<StatusEntry, DkmsConf | undefined> }> {
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
  return { entries, confOf };
}

/** Status entries with annotations; every dkms.conf is evaluated in one bash process. */
export async function computeStatus(
  ctx: DkmsContext,
  filter: StatusFilter,
): Promise<StatusEntry[]> {
  return (await computeStatusWithConfs(ctx, filter)).entries;
}

export const status: Command = async (ctx, args) => {
  const kernels = args.kernels.length > 0 ? args.kernels : [undefined];
  const jsonEntries: StatusJsonEntry[] = [];
  // The JSON writer loads only when asked for: plain status is on a hot path.
  const json = args.json ? await import('../status/statusJson.js') : undefined;
  for (const [i, kernel] of kernels.entries()) {
    const filter: StatusFilter = {
      module: args.module,
      version: args.moduleVersion,
      kernel,
      arch: args.arches[i],
    };
    const { entries, confOf } = await computeStatusWithConfs(ctx, filter);
    for (const entry of entries) {
      if (json) {
        jsonEntries.push(
          json.describeEntry(ctx.tree, ctx.paths.installTree, entry, confOf.get(entry)),
        );
        continue;
      }
      // line by line, each broken module's error right after its line, as dkms prints them
      ctx.reporter.info(formatStatusLine(entry));
      if (entry.state === 'broken') ctx.reporter.error(brokenMessage(entry));
    }
  }
  if (json) {
    const { DKMS_VERSION: VERSION } = await import('../core/version.js');
    const document = json.statusDocument(
      ctx.paths,
      jsonEntries,
      `dkms-ts ${VERSION}`,
      json.kernelReadiness(ctx.paths, args.kernels),
    );
    return { exitCode: 0, output: [JSON.stringify(document, null, 2)] };
  }
  return { exitCode: 0 };
};
