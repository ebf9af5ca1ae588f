import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { headersStamp } from '../../kernel/headers.js';
import type { KernelProbe } from './kernelProbe.js';

export interface SettleOptions {
  /** How long the headers must stay unchanged. */
  quietMs: number;
  /** Looks at the kernel again (its headers may have gone incomplete meanwhile). */
  probe: () => KernelProbe;
  installTree: string;
  signal: AbortSignal;
  /** Rounds of `quietMs` to wait for an unpack that keeps going. @default 120 */
  maxRounds?: number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** The trees a kernel's headers live in: the build tree and, on Debian, its `source` (-common). */
const treesOf = (installTree: string, probe: KernelProbe): string[] => [
  probe.headers ?? '',
  join(installTree, probe.kernel, 'source'),
];

/**
 * Waits until a kernel whose headers just became ready has kept them unchanged for
 * `quietMs` (a package manager unpacking them changes their directories with every file),
 * so a build never starts against a half-unpacked tree. Resolves with the probe to build
 * with, or undefined when the headers stopped being ready, never settled, or dkmsd stops.
 */
export async function settleHeaders(options: SettleOptions): Promise<KernelProbe | undefined> {
  const sleep =
    options.sleep ??
    ((ms: number) => delay(ms, undefined, { signal: options.signal }).catch(() => undefined));
  let probe = options.probe();
  let stamp = headersStamp(treesOf(options.installTree, probe));
  for (let round = 0; round < (options.maxRounds ?? 120); round++) {
    await sleep(options.quietMs);
    if (options.signal.aborted) return undefined;
    probe = options.probe();
    if (probe.headers === undefined) return undefined;
    const now = headersStamp(treesOf(options.installTree, probe));
    if (now === stamp) return probe;
    stamp = now;
  }
  return undefined;
}
