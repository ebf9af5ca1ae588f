import { DkmsError, toDkmsError } from '../core/errors.js';
import type { Reporter } from '../core/host.js';
import { parallelJobs, readFrameworkConf, resolvePaths } from '../core/framework.js';
import { OS_RELEASE_FILES, defaultPaths, findOsRelease } from '../core/paths.js';
import { createContext } from '../core/context.js';
import type { Command } from '../commands/types.js';
import { parseArgs, type Action } from '../commands/args.js';
import { actionHelp, USAGE, VERSION } from '../commands/help.js';
import { errorText, wantLogTail } from '../commands/errorText.js';

export interface Streams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal: then long builds show a progress line. */
  isTTY?: boolean;
}

/** Commands load lazily so `dkms status` does not pay for the build engine's imports. */
const commands: Record<Action, () => Promise<Command>> = {
  status: async () => (await import('../commands/status.js')).status,
  add: async () => (await import('../commands/add.js')).add,
  build: async () => (await import('../commands/build.js')).build,
  install: async () => (await import('../commands/install.js')).install,
  uninstall: async () => (await import('../commands/remove.js')).uninstall,
  unbuild: async () => (await import('../commands/remove.js')).unbuild,
  remove: async () => (await import('../commands/remove.js')).remove,
  match: async () => (await import('../commands/match.js')).match,
  autoinstall: async () => (await import('../commands/autoinstall.js')).autoinstall,
  kernel_postinst: async () => (await import('../commands/kernelHooks.js')).kernelPostinst,
  kernel_preinst: async () => (await import('../commands/kernelHooks.js')).kernelPreinst,
  kernel_prerm: async () => (await import('../commands/kernelHooks.js')).kernelPrerm,
  mktarball: async () => (await import('../commands/tarball.js')).mktarball,
  ldtarball: async () => (await import('../commands/tarball.js')).ldtarball,
  generate_mok: async () => (await import('../commands/generateMok.js')).generateMok,
  doctor: async () => (await import('../commands/doctor.js')).doctor,
  sign: async () => (await import('../commands/sign.js')).sign,
  readiness: async () => (await import('../commands/readiness.js')).readiness,
  mkdeb: async () => (await import('../commands/packages.js')).mkdeb,
  mkbmdeb: async () => (await import('../commands/packages.js')).mkbmdeb,
  mkdsc: async () => (await import('../commands/packages.js')).mkdsc,
  mkrpm: async () => (await import('../commands/packages.js')).mkrpm,
  mkkmp: async () => (await import('../commands/packages.js')).mkkmp,
  mkdriverdisk: async () => (await import('../commands/packages.js')).mkdriverdisk,
};

/** Runs one dkms command line; the only place that writes output and picks the exit status. */
export async function main(argv: readonly string[], streams: Streams): Promise<number> {
  let quiet = false;
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown) streams.stdout('\r\x1b[K');
    progressShown = false;
  };
  const reporter: Reporter = {
    info: (line) => {
      clearProgress();
      if (!quiet) streams.stdout(`${line}\n`);
    },
    progress: streams.isTTY
      ? (text) => {
          if (quiet) return;
          clearProgress();
          if (text) streams.stdout(text);
          progressShown = Boolean(text);
        }
      : undefined,
    warn: (line) => {
      clearProgress();
      const prefix = /^(Warning|Deprecated|dkms\.conf:)/.test(line) ? '' : 'Warning: ';
      if (!quiet) streams.stderr(`${prefix}${line}\n`);
    },
    error: (line) => {
      clearProgress();
      if (!quiet) streams.stderr(`${line}\n`);
    },
    verbose: () => undefined,
  };
  try {
    // dkms reads os-release before anything else, even --version
    const osRelease = process.env['DKMS_OS_RELEASE'];
    if (!findOsRelease(osRelease ? [osRelease] : OS_RELEASE_FILES))
      throw new DkmsError('USAGE', 'System is missing os-release file.', { exitCode: 4 });
    const args = parseArgs(argv);
    quiet = args.quiet;
    if (args.verbose) reporter.verbose = (line) => quiet || streams.stdout(`${line}\n`);
    for (const warning of args.warnings) reporter.warn(warning);
    if (args.version) {
      streams.stdout(`dkms-${VERSION}\n`);
      return 0;
    }
    if (args.help || !args.action) {
      if (!args.help && !args.action) {
        streams.stderr(`${USAGE}\n`);
        return 4;
      }
      streams.stdout(`${args.action ? actionHelp(args.action) : USAGE}\n`);
      return 0;
    }
    const confDir = args.confDir ?? defaultPaths().confDir;
    // the command's code loads while bash reads framework.conf
    const loading = commands[args.action]();
    loading.catch(() => undefined);
    const framework = await readFrameworkConf(confDir, undefined, streams.stderr);
    const paths = resolvePaths(framework, {
      dkmsTree: args.dkmsTree,
      sourceTree: args.sourceTree,
      installTree: args.installTree,
      confDir,
    });
    const ctx = createContext({
      paths,
      framework,
      parallelJobs: parallelJobs(framework, args.jobs),
      reporter,
      kernelSourceDir: args.kernelSourceDir,
      kernelConfigFile: args.kernelConfig,
      confFile: args.conf,
      directives: args.directives,
      depmod: !args.noDepmod,
    });
    ctx.preparedKernels = new Map();
    if (args.verbose || framework.verbose)
      reporter.verbose = (line) => quiet || streams.stdout(`${line}\n`);
    const command = await loading;
    const result = await command(ctx, args);
    if (result.output && result.output.length > 0) streams.stdout(`${result.output.join('\n')}\n`);
    return result.exitCode;
  } catch (thrown) {
    const error = toDkmsError(thrown);
    if (!quiet) {
      const text = errorText(error, { forPerson: wantLogTail() });
      if (text) streams.stderr(`${text}\n`);
      if (error.code === 'UNKNOWN_OPTION') streams.stderr(`${USAGE}\n`);
      if (error.code === 'INTERNAL' && process.env['DKMS_DEBUG'])
        streams.stderr(`${String((thrown as Error).stack)}\n`);
    }
    return error.exitCode;
  }
}
