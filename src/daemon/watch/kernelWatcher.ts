import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';

export interface KernelWatcherEvents {
  /** The file system was quiet for the debounce time after something changed. */
  settled: [];
}

export interface KernelWatcherOptions {
  installTree: string;
  sourceTree: string;
  debounceMs: number;
  logger: Logger;
}

/**
 * Watches the top level of the install tree and the source tree (two inotify watches; a
 * recursive watch of header trees would cost tens of thousands) and says when things settle.
 * Each kernel directory is watched too (one watch each, top level only), to see its `build`
 * link appear or go.
 */
export class KernelWatcher extends EventEmitter<KernelWatcherEvents> {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * One watcher per kernel directory. They are closed, never unwatched:
   * chokidar ignores an unwatched path for good, so the main watcher would then miss that
   * kernel directory's removal.
   */
  private readonly extra = new Map<string, FSWatcher>();

  constructor(private readonly options: KernelWatcherOptions) {
    super();
  }

  async start(): Promise<void> {
    const roots = [this.options.installTree, this.options.sourceTree];
    const fedora = join(this.options.sourceTree, 'kernels');
    if (existsSync(fedora)) roots.push(fedora);
    const watcher = watch(roots, {
      depth: 0,
      followSymlinks: false,
      ignoreInitial: true,
      persistent: true,
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => {
      this.options.logger.debug({ event, path }, 'file system event');
      this.poke();
    });
    watcher.on('error', (error) => this.options.logger.warn({ err: error }, 'watcher error'));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
  }

  /** Watch exactly these kernel directories besides the roots. */
  watchKernelDirs(kernels: readonly string[]): void {
    const wanted = new Set(kernels.map((kernel) => join(this.options.installTree, kernel)));
    for (const [dir, watcher] of this.extra) {
      if (!wanted.has(dir)) {
        this.extra.delete(dir);
        watcher.close().catch((error: unknown) => {
          this.options.logger.warn({ err: error, dir }, 'closing a kernel directory watch failed');
        });
      }
    }
    if (!this.watcher) return;
    for (const dir of wanted) {
      if (this.extra.has(dir)) continue;
      const watcher = watch(dir, { depth: 0, followSymlinks: false, ignoreInitial: true });
      watcher.on('all', (event, path) => {
        this.options.logger.debug({ event, path }, 'file system event');
        this.poke();
      });
      watcher.on('error', (error) => this.options.logger.warn({ err: error }, 'watcher error'));
      this.extra.set(dir, watcher);
    }
  }

  /** Restarts the quiet period; the timer only exists while events come in. */
  poke(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit('settled');
    }, this.options.debounceMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([this.watcher?.close(), ...[...this.extra.values()].map((w) => w.close())]);
    this.extra.clear();
    this.watcher = undefined;
  }
}
