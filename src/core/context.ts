import { machine } from 'node:os';
import type { Reporter } from './host.js';
import type { FrameworkConf } from './framework.js';
import type { DkmsPaths } from './paths.js';
import type { JobserverAuth } from './exec.js';
import { readDistro } from './osRelease.js';
import { StateTree } from './stateTree.js';

/** Everything an engine operation needs to know about the system it runs on. */
export interface DkmsContext {
  paths: DkmsPaths;
  framework: FrameworkConf;
  tree: StateTree;
  /** ID / ID_LIKE of the distribution (remaps DEST_MODULE_LOCATION). */
  distro: string;
  /** `make -j` for one build. */
  parallelJobs: number;
  /** A make jobserver shared with other builds: make runs without -j and joins it. */
  jobserver?: JobserverAuth | undefined;
  /** --kernelsourcedir */
  kernelSourceDir?: string | undefined;
  /** --config: the kernel config file to use instead of the build tree's. */
  kernelConfigFile?: string | undefined;
  /** -c: a dkms.conf to use instead of the module's own. */
  confFile?: string | undefined;
  /** --directive NAME=VALUE, applied after the conf files. */
  directives: string[];
  /** Whether depmod runs after install/uninstall (--no-depmod turns it off). */
  depmod: boolean;
  reporter: Reporter;
  /** Aborts long operations (builds) when the daemon stops. */
  signal?: AbortSignal | undefined;
  /** Evaluated confs of this command, by conf path and module/version/kernel/arch. */
  confCache?: Map<string, unknown> | undefined;
  /** Kernels whose headers and signing were prepared in this command (`kernel/arch`). */
  preparedKernels?: Map<string, unknown> | undefined;
}

export const defaultArch = (): string => machine();

export interface ContextOptions {
  paths: DkmsPaths;
  framework: FrameworkConf;
  parallelJobs: number;
  reporter: Reporter;
  kernelSourceDir?: string | undefined;
  kernelConfigFile?: string | undefined;
  confFile?: string | undefined;
  directives?: string[] | undefined;
  depmod?: boolean | undefined;
}

export function createContext(options: ContextOptions): DkmsContext {
  return {
    paths: options.paths,
    framework: options.framework,
    tree: new StateTree(options.paths.dkmsTree, options.paths.sourceTree),
    distro: readDistro(options.paths.osRelease),
    parallelJobs: options.parallelJobs,
    kernelSourceDir: options.kernelSourceDir,
    kernelConfigFile: options.kernelConfigFile,
    confFile: options.confFile,
    directives: options.directives ?? [],
    depmod: options.depmod ?? true,
    reporter: options.reporter,
    confCache: new Map(),
  };
}
