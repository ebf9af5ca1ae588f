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
 * Kernel directories still waiting for headers are watched too, to see `build` appear.
 */
export class KernelWatcher extends EventEmitter<KernelWatcherEvents> {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly extra = new Set<string>();

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

  /** Watch exactly these kernel directories (those without headers) besides the roots. */
  watchKernelDirs(kernels: readonly string[]): void {
    const wanted = new Set(kernels.map((kernel) => join(this.options.installTree, kernel)));
    for (const dir of this.extra) {
      if (!wanted.has(dir)) {
        this.watcher?.unwatch(dir);
        this.extra.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (!this.extra.has(dir)) {
        this.watcher?.add(dir);
        this.extra.add(dir);
      }
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
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
