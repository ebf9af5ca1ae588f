import { realpathSync } from 'node:fs';
import type { Logger } from 'pino';
import type { KernelScheduler } from '../kernels/kernelScheduler.js';
import { settleHeaders } from './headersSettle.js';
import { kernelLooksGone, type KernelProbe } from './kernelProbe.js';
import type { KernelTracker } from './kernelTracker.js';
import type { KernelWatcher } from './kernelWatcher.js';

export interface TreeReconcilerOptions {
  installTree: string;
  bootDir: string;
  /** How long headers must be quiet before they are built against. */
  debounceMs: number;
  kernels: KernelTracker;
  watcher: KernelWatcher;
  scheduler: KernelScheduler;
  logger: Logger;
  signal: AbortSignal;
  /** dkmsd is stopping: start nothing new. */
  stopping: () => boolean;
}

/**
 * What dkmsd does when the install tree changed: kernels gone are cleaned up, kernels whose
 * headers became ready are built for once the headers are quiet, and only the kernel
 * directories that can still change the plan stay watched.
 */
export class TreeReconciler {
  /** What was last logged about a kernel's incomplete headers. */
  private readonly incompleteSeen = new Map<string, string>();

  constructor(private readonly options: TreeReconcilerOptions) {}

  /** Looks at the install tree and acts on what changed since the last look. */
  reconcile(): void {
    const { kernels, scheduler, logger, installTree, bootDir } = this.options;
    if (this.options.stopping()) return;
    const changes = kernels.refresh();
    this.updateWatches();
    // Headers purged from a kernel that is otherwise gone too (no image, no in-tree modules):
    // the kernel was removed, even though dkms's own files keep its directory alive.
    const leftovers = changes.headersLost.filter((kernel) =>
      kernelLooksGone(installTree, bootDir, kernel),
    );
    for (const kernel of leftovers) {
      logger.info({ kernel }, 'kernel headers removed and no kernel image left');
    }
    for (const kernel of [...changes.removed, ...leftovers]) {
      if (changes.removed.includes(kernel)) logger.info({ kernel }, 'kernel directory removed');
      scheduler
        .remove(kernel)
        .catch((error: unknown) => logger.error({ err: error, kernel }, 'kernel removal failed'));
    }
    for (const probe of changes.buildable) void this.buildWhenSettled(probe);
    for (const kernel of changes.waitingForHeaders) {
      const { incomplete } = kernels.all().get(kernel) ?? {};
      const seen = incomplete ? `${incomplete.dir}:${incomplete.missing.join(',')}` : '';
      if (incomplete && this.incompleteSeen.get(kernel) !== seen)
        logger.info(
          { kernel, headers: incomplete.dir, missing: incomplete.missing },
          'kernel headers incomplete',
        );
      this.incompleteSeen.set(kernel, seen);
    }
    if (changes.waitingForHeaders.length > 0)
      logger.debug({ kernels: changes.waitingForHeaders }, 'kernels without headers');
  }

  /** The kernel directories to watch, and where incomplete headers should get what they lack. */
  updateWatches(): void {
    const waiting = this.options.kernels.incompleteWatchDirs().map((dir) => {
      try {
        return realpathSync(dir);
      } catch {
        return dir;
      }
    });
    this.options.watcher.watchKernelDirs(this.kernelDirsToWatch(), [...new Set(waiting)]);
  }

  /**
   * The kernel directories whose change can still change the plan: without headers yet (their
   * `build` appearing starts builds), or with headers and nothing else left (their `build`
   * going away means the kernel is gone).
   */
  private kernelDirsToWatch(): string[] {
    const { installTree, bootDir, kernels } = this.options;
    return [...kernels.all().values()]
      .filter(
        (probe) =>
          probe.headers === undefined || kernelLooksGone(installTree, bootDir, probe.kernel),
      )
      .map((probe) => probe.kernel);
  }

  /**
   * Headers that just became ready are built against only once they have been quiet for
   * `debounceMs`: a package manager may still be unpacking them. If they stop being ready,
   * the kernel waits again (the next look at the tree reports it anew).
   */
  private async buildWhenSettled(probe: KernelProbe): Promise<void> {
    const { kernels, scheduler, logger, installTree, debounceMs, signal } = this.options;
    const settled = await settleHeaders({
      quietMs: debounceMs,
      probe: () => kernels.probe(probe.kernel),
      installTree,
      signal,
    });
    if (this.options.stopping()) return;
    if (!settled) {
      logger.info({ kernel: probe.kernel }, 'kernel headers did not settle; waiting');
      kernels.forget(probe.kernel);
      return;
    }
    this.incompleteSeen.delete(probe.kernel);
    logger.info({ kernel: probe.kernel, headers: settled.headers }, 'kernel headers appeared');
    scheduler
      .request([settled])
      .catch((error: unknown) => logger.error({ err: error }, 'kernel run failed'));
  }
}
