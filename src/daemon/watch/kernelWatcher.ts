import { EventEmitter } from 'node:events';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface KernelWatcherEvents {
  /** The file system was quiet for the debounce time after something changed. */
  settled: [];
}

export interface KernelWatcherOptions {
  installTree: string;
  sourceTree: string;
  /** Where kernel images are: one going away can make a kernel with headers look gone. */
  bootDir: string;
  debounceMs: number;
  logger: Logger;
}

/**
 * Watches what can still change the plan, one inotify watch per directory (fs.watch, never
 * one per entry): the top of the install tree (kernels come and go), of the source tree
 * (headers packages come and go; so does `<source_tree>/kernels` on Fedora), the boot
 * directory (images come and go), and the kernel directories the daemon names: those waiting
 * for headers (to see `build` appear) and those with headers but no image left (their `build`
 * going away means the kernel is gone), plus the directories where incomplete headers (being
 * unpacked) should get what they lack. Says when things settle.
 */
export class KernelWatcher extends EventEmitter<KernelWatcherEvents> {
  private timer: NodeJS.Timeout | undefined;
  private readonly roots = new Map<string, FSWatcher>();
  private readonly kernelDirs = new Map<string, FSWatcher>();

  constructor(private readonly options: KernelWatcherOptions) {
    super();
  }

  start(): Promise<void> {
    const dirs = [this.options.installTree, this.options.sourceTree];
    const fedora = join(this.options.sourceTree, 'kernels');
    if (existsSync(fedora)) dirs.push(fedora);
    if (existsSync(this.options.bootDir)) dirs.push(this.options.bootDir);
    for (const dir of dirs) this.watchDir(this.roots, dir);
    return Promise.resolve();
  }

  /**
   * Watch exactly these kernel directories besides the roots, and `extra` directories
   * (absolute: where incomplete headers should get what they lack).
   */
  watchKernelDirs(kernels: readonly string[], extra: readonly string[] = []): void {
    const wanted = new Set([
      ...kernels.map((kernel) => join(this.options.installTree, kernel)),
      ...extra,
    ]);
    for (const [dir, watcher] of this.kernelDirs) {
      if (!wanted.has(dir)) {
        this.kernelDirs.delete(dir);
        watcher.close();
      }
    }
    if (this.roots.size === 0) return;
    let added = false;
    for (const dir of wanted) {
      if (!this.kernelDirs.has(dir)) added = this.watchDir(this.kernelDirs, dir) || added;
    }
    // `build` may have appeared between the last look and the new watch: look once more.
    if (added) this.poke();
  }

  private watchDir(into: Map<string, FSWatcher>, dir: string): boolean {
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (event, name) => {
        this.options.logger.debug(
          { event, path: name ? join(dir, name) : dir },
          'file system event',
        );
        this.poke();
      });
    } catch (error) {
      this.options.logger.warn({ err: error, dir }, 'cannot watch a directory');
      return false;
    }
    // The directory went away (or the watch broke): forget it; the next look decides again.
    watcher.on('error', (error) => {
      this.options.logger.debug({ err: error, dir }, 'watch ended');
      if (into.get(dir) === watcher) into.delete(dir);
      watcher.close();
      this.poke();
    });
    into.set(dir, watcher);
    return true;
  }

  /** Restarts the quiet period; the timer only exists while events come in. */
  poke(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit('settled');
    }, this.options.debounceMs);
  }

  stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const watcher of [...this.roots.values(), ...this.kernelDirs.values()]) watcher.close();
    this.roots.clear();
    this.kernelDirs.clear();
    return Promise.resolve();
  }
}
