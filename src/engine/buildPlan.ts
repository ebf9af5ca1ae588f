import { join } from 'node:path';
import type { DkmsConf } from '../conf/dkmsConf.js';
import { failedLogPath, type BuildRef } from '../core/stateTree.js';
import { resolveUnder } from '../core/safePath.js';

/** Everything a build does, decided before anything runs. */
export interface BuildPlan {
  ref: BuildRef;
  /** The module's source (through the tree's source link). */
  sourceDir: string;
  /** Where make runs: `<tree>/<m>/<v>/build`, as dkms.conf files expect. */
  workDir: string;
  /** The build lands here first, then is renamed to `finalDir` in one step. */
  stagingDir: string;
  finalDir: string;
  /** make.log while the build runs, and where a failed build leaves it (upstream's place). */
  logFile: string;
  failedLogFile: string;
  /** A copy of a failed build's log that the next build of another kernel does not delete. */
  keptFailedLogFile: string;
  patches: { name: string; file: string }[];
  preBuild: string;
  postBuild: string;
  /** MAKE with `-j<jobs> KERNELRELEASE=<kver>` after its leading `make`. */
  makeCommand: string;
  modules: {
    name: string;
    /** BUILT_MODULE_LOCATION, '' or ending in '/'. */
    location: string;
    builtFile: string;
    destName: string;
    strip: boolean;
  }[];
  /** The kernel config ($kernel_config), when there is one. */
  kernelConfig: string | undefined;
}

export interface BuildPlanInput {
  ref: BuildRef;
  conf: DkmsConf;
  versionDir: string;
  sourceDir: string;
  /** `make -j`; undefined when make joins a jobserver (an explicit -j would leave it). */
  parallelJobs: number | undefined;
  kernelConfig: string | undefined;
  /** Unique per attempt so concurrent or crashed builds never share a staging dir. */
  stagingTag: string;
}

/**
 * dkms's `${make_command/#make/make -j$parallel_jobs KERNELRELEASE=$kernelver}`; without -j
 * when the build joins a jobserver.
 */
export function withMakeDefaults(
  command: string,
  jobs: number | undefined,
  kernel: string,
): string {
  // dkms turns -j0 into a bare -j
  const j = jobs === undefined ? '' : jobs === 0 ? ' -j' : ` -j${jobs}`;
  return command.startsWith('make')
    ? `make${j} KERNELRELEASE=${kernel}${command.slice('make'.length)}`
    : command;
}

export function planBuild(input: BuildPlanInput): BuildPlan {
  const { ref, conf, versionDir } = input;
  const workDir = join(versionDir, 'build');
  const stagingDir = join(versionDir, ref.kernel, `.tmp_${ref.arch}_${input.stagingTag}`);
  return {
    ref,
    sourceDir: input.sourceDir,
    workDir,
    stagingDir,
    finalDir: join(versionDir, ref.kernel, ref.arch),
    logFile: join(stagingDir, 'log', 'make.log'),
    failedLogFile: join(workDir, 'make.log'),
    keptFailedLogFile: failedLogPath(versionDir, ref.kernel, ref.arch),
    patches: conf.patches.map((name) => ({
      name,
      file: resolveUnder(join(workDir, 'patches'), name, 'PATCH'),
    })),
    preBuild: conf.preBuild,
    postBuild: conf.postBuild,
    makeCommand: withMakeDefaults(conf.makeCommand, input.parallelJobs, ref.kernel),
    // modules a per-module BUILD_EXCLUSIVE_*[i] excludes are neither collected nor installed
    modules: conf.modules
      .filter((m) => !m.excluded)
      .map((m) => ({
        name: m.builtName,
        location: m.builtLocation,
        builtFile: resolveUnder(
          workDir,
          `${m.builtLocation}${m.builtName}.ko`,
          'BUILT_MODULE_LOCATION',
        ),
        destName: m.destName,
        strip: m.strip,
      })),
    kernelConfig: input.kernelConfig,
  };
}
