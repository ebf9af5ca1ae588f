import { statSync } from 'node:fs';
import { join } from 'node:path';
import { headersPackageHint } from '../../kernel/kernel.js';
import {
  diffKernels,
  probeKernel,
  probeKernels,
  type KernelChanges,
  type KernelProbe,
} from './kernelProbe.js';

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

export interface KernelTrackerOptions {
  installTree: string;
  sourceTree: string;
  runningKernel: string;
  /** Boot catch-up and rescan take every kernel with headers, not only the running one. */
  allKernels: boolean;
  distro: string;
}

/**
 * What dkmsd knows of the kernels on disk, and where it decides a kernel is ready to build
 * for: its headers resolve, and no hook said it is being removed.
 */
export class KernelTracker {
  private probes = new Map<string, KernelProbe>();
  /** Kernels a hook removed while their directory is still there: no automatic builds. */
  private readonly removedByHook = new Set<string>();

  constructor(private readonly options: KernelTrackerOptions) {}

  /** Looks at the install tree again; says what changed since the last look. */
  refresh(): KernelChanges {
    const current = probeKernels(this.options.installTree, this.options.sourceTree);
    const changes = diffKernels(this.probes, current);
    this.probes = current;
    for (const kernel of changes.removed) this.removedByHook.delete(kernel);
    changes.buildable = changes.buildable.filter((probe) => !this.removedByHook.has(probe.kernel));
    return changes;
  }

  /** Forgets what was seen of a kernel, so the next look reports it again if it is ready. */
  forget(kernel: string): void {
    this.probes.delete(kernel);
  }

  /** Directories where what incomplete headers lack should appear. */
  incompleteWatchDirs(): string[] {
    return [...this.probes.values()].flatMap((probe) => probe.incomplete?.watch ?? []);
  }

  all(): ReadonlyMap<string, KernelProbe> {
    return this.probes;
  }

  /** One kernel, looked at now (a hook names it); no headers when its directory is missing. */
  probe(kernel: string): KernelProbe & { exists: boolean } {
    const { installTree, sourceTree } = this.options;
    const exists = isDir(join(installTree, kernel));
    if (!exists) return { kernel, headers: undefined, headersElsewhere: false, exists };
    return { ...probeKernel(installTree, sourceTree, kernel), exists };
  }

  /** Why a kernel cannot be built for, in words for the hook's user. */
  headersHint(kernel: string): string {
    const dir = join(this.options.installTree, kernel);
    if (!isDir(dir)) return `${dir} does not exist: kernel ${kernel} is not installed.`;
    const { incomplete } = this.probe(kernel);
    if (incomplete)
      return `The headers of kernel ${kernel} at ${incomplete.dir} are incomplete (no ${incomplete.missing.join(', ')}): is their package still being unpacked? dkmsd builds once they are complete.`;
    return `No headers for kernel ${kernel}: ${join(dir, 'build', 'Makefile')} does not resolve. Install ${headersPackageHint(kernel, this.options.distro)}.`;
  }

  /** Kernels with headers, the running one first. */
  buildable(): KernelProbe[] {
    const running = this.options.runningKernel;
    return [...this.probes.values()]
      .filter((probe) => probe.headers !== undefined && !this.removedByHook.has(probe.kernel))
      .sort((a, b) => Number(b.kernel === running) - Number(a.kernel === running));
  }

  /** What boot catch-up and rescan plan. */
  catchUp(): KernelProbe[] {
    const kernels = this.buildable();
    return this.options.allKernels
      ? kernels
      : kernels.filter((probe) => probe.kernel === this.options.runningKernel);
  }

  runningHasHeaders(): boolean {
    return this.probes.get(this.options.runningKernel)?.headers !== undefined;
  }

  setRemoved(kernel: string, removed: boolean): void {
    if (removed) this.removedByHook.add(kernel);
    else this.removedByHook.delete(kernel);
  }
}
