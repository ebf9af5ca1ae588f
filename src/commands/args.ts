import { statSync } from 'node:fs';
import { DkmsError } from '../core/errors.js';
import { ACTIONS, type Action } from './actions.js';

export { ACTIONS, type Action };

/** The dkms command line, parsed as dkms 3.x parses it. */
export interface DkmsArgs {
  action?: Action | undefined;
  module?: string | undefined;
  moduleVersion?: string | undefined;
  /** -k values in order; `-k kver/arch` fills arches too. */
  kernels: string[];
  arches: string[];
  all: boolean;
  conf?: string | undefined;
  archive?: string | undefined;
  sourceTreeArg?: string | undefined;
  templateKernel?: string | undefined;
  kernelSourceDir?: string | undefined;
  kernelConfig?: string | undefined;
  directives: string[];
  force: boolean;
  forceVersionOverride: boolean;
  binariesOnly: boolean;
  sourceOnly: boolean;
  rpmSafeUpgrade: boolean;
  dkmsTree?: string | undefined;
  sourceTree?: string | undefined;
  installTree?: string | undefined;
  confDir?: string | undefined;
  symlinkModules: boolean;
  noDepmod: boolean;
  modprobeOnInstall: boolean;
  /** --dry-run: print the plan of install/uninstall/unbuild/remove/autoinstall, change nothing. */
  dryRun: boolean;
  /** doctor --fix: repair what the checks found (interrupted commands, leftovers, depmod). */
  fix: boolean;
  jobs?: number | undefined;
  verbose: boolean;
  quiet: boolean;
  json: boolean;
  /** readiness --policy */
  policy: boolean;
  version: boolean;
  help: boolean;
  /** Positional words that were neither action, module nor path. */
  extra: string[];
  warnings: string[];
}

type ValueOption =
  | 'module'
  | 'moduleVersion'
  | 'kernel'
  | 'arch'
  | 'templateKernel'
  | 'conf'
  | 'dkmsTree'
  | 'sourceTree'
  | 'installTree'
  | 'confDir'
  | 'kernelConfig'
  | 'archive'
  | 'kernelSourceDir'
  | 'directive'
  | 'jobs';

/** Options that take a value; `prefix` ones also match `--name=value` and `--nameXYZ` as dkms's `--name*`. */
const valueOptions: { names: string[]; prefix?: string; key: ValueOption }[] = [
  { names: ['-m'], prefix: '--module', key: 'module' },
  { names: ['-v'], key: 'moduleVersion' },
  { names: ['-k'], prefix: '--kernelver', key: 'kernel' },
  // --archive before --arch: both are prefixes, as upstream's case order has them
  { names: [], prefix: '--archive', key: 'archive' },
  { names: ['-a'], prefix: '--arch', key: 'arch' },
  { names: [], prefix: '--templatekernel', key: 'templateKernel' },
  { names: ['-c'], key: 'conf' },
  { names: [], prefix: '--dkmstree', key: 'dkmsTree' },
  { names: [], prefix: '--sourcetree', key: 'sourceTree' },
  { names: [], prefix: '--installtree', key: 'installTree' },
  { names: [], prefix: '--confdir', key: 'confDir' },
  { names: [], prefix: '--config', key: 'kernelConfig' },
  { names: [], prefix: '--kernelsourcedir', key: 'kernelSourceDir' },
  { names: [], prefix: '--directive', key: 'directive' },
  { names: ['-j'], key: 'jobs' },
];

type Flag =
  | 'all'
  | 'force'
  | 'forceVersionOverride'
  | 'binariesOnly'
  | 'sourceOnly'
  | 'rpmSafeUpgrade'
  | 'symlinkModules'
  | 'noDepmod'
  | 'modprobeOnInstall'
  | 'dryRun'
  | 'fix'
  | 'verbose'
  | 'quiet'
  | 'json'
  | 'policy'
  | 'version'
  | 'help';

const flags: Record<string, Flag> = {
  '--all': 'all',
  '--force': 'force',
  '--force-version-override': 'forceVersionOverride',
  '--binaries-only': 'binariesOnly',
  '--source-only': 'sourceOnly',
  '--rpm_safe_upgrade': 'rpmSafeUpgrade',
  '--symlink-modules': 'symlinkModules',
  '--no-depmod': 'noDepmod',
  '--modprobe-on-install': 'modprobeOnInstall',
  '--dry-run': 'dryRun',
  '--fix': 'fix',
  '--verbose': 'verbose',
  '--quiet': 'quiet',
  '-q': 'quiet',
  '--json': 'json',
  '--policy': 'policy',
  '--version': 'version',
  '-V': 'version',
  '--help': 'help',
  '-h': 'help',
};

const deprecatedFlags = new Set([
  '--no-initrd',
  '--no-clean-kernel',
  '--no-prepare-kernel',
  '--debug',
]);

const isAction = (word: string): word is Action => (ACTIONS as readonly string[]).includes(word);

function kind(path: string): 'file' | 'dir' | undefined {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** Splits `a/b` at the first slash, as dkms's `^([^/]*)/(.*)$`. */
export function splitPair(value: string): [string, string | undefined] {
  const slash = value.indexOf('/');
  return slash < 0 ? [value, undefined] : [value.slice(0, slash), value.slice(slash + 1)];
}

export function parseArgs(argv: readonly string[]): DkmsArgs {
  const args: DkmsArgs = {
    kernels: [],
    arches: [],
    all: false,
    directives: [],
    force: false,
    forceVersionOverride: false,
    binariesOnly: false,
    sourceOnly: false,
    rpmSafeUpgrade: false,
    symlinkModules: false,
    noDepmod: false,
    modprobeOnInstall: false,
    dryRun: false,
    fix: false,
    verbose: false,
    quiet: false,
    json: false,
    policy: false,
    version: false,
    help: false,
    extra: [],
    warnings: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    const flag = flags[word];
    if (flag) {
      args[flag] = true;
      continue;
    }
    if (deprecatedFlags.has(word)) {
      args.warnings.push(`Deprecated feature: ${word}`);
      continue;
    }
    const option = valueOptions.find(
      (o) =>
        o.names.includes(word) ||
        o.names.some((n) => word.startsWith(`${n}=`)) ||
        (o.prefix !== undefined && word.startsWith(o.prefix)),
    );
    if (option) {
      let value: string | undefined;
      const eq = word.indexOf('=');
      if (eq >= 0) {
        value = word.slice(eq + 1);
      } else {
        value = argv[++i];
        if (value === undefined)
          throw new DkmsError('UNKNOWN_OPTION', `Option ${word} needs a value.`);
      }
      setValue(args, option.key, value);
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      throw new DkmsError('UNKNOWN_OPTION', `Unknown option: ${word}`, {
        hint: 'See dkms --help.',
      });
    }
    if (isAction(word)) {
      if (args.action)
        throw new DkmsError('USAGE', 'Cannot specify more than one action.', { exitCode: 4 });
      args.action = word;
    } else if (word.endsWith('dkms.conf') && kind(word) === 'file') {
      args.sourceTreeArg = word.slice(0, -'dkms.conf'.length) || './';
    } else if (kind(word) === 'dir' && kind(`${word}/dkms.conf`) === 'file') {
      args.sourceTreeArg = word;
    } else if (kind(word) === 'file') {
      args.archive = word;
    } else if (!args.module) {
      setValue(args, 'module', word);
    } else {
      args.extra.push(word);
      args.warnings.push(`I do not know how to handle ${word}.`);
    }
  }
  checkActionFlags(args);
  return args;
}

/** The actions whose plan --dry-run can print. */
const DRY_RUN_ACTIONS: readonly Action[] = [
  'install',
  'uninstall',
  'unbuild',
  'remove',
  'autoinstall',
  'kernel_postinst',
];

/** A flag an action would ignore must not be ignored: `dkms build --dry-run` would build. */
function checkActionFlags(args: DkmsArgs): void {
  if (args.dryRun && args.action && !DRY_RUN_ACTIONS.includes(args.action))
    throw new DkmsError(
      'USAGE',
      `The action ${args.action} does not support --dry-run (${DRY_RUN_ACTIONS.join(', ')} do).`,
    );
  if (args.fix && args.action && args.action !== 'doctor')
    throw new DkmsError('USAGE', `--fix is an option of dkms doctor, not of ${args.action}.`);
}

function setValue(args: DkmsArgs, key: ValueOption, value: string): void {
  switch (key) {
    case 'module': {
      const [module, version] = splitPair(value);
      args.module = module;
      if (version !== undefined) args.moduleVersion = version;
      break;
    }
    case 'kernel': {
      const [kernel, arch] = splitPair(value);
      args.kernels.push(kernel);
      if (arch !== undefined) args.arches.push(arch);
      break;
    }
    case 'arch':
      args.arches.push(value);
      break;
    case 'directive':
      args.directives.push(value);
      break;
    case 'jobs': {
      const jobs = Number(value);
      // 0: make's bare -j (no limit), as dkms 3.4
      if (!Number.isInteger(jobs) || jobs < 0)
        throw new DkmsError('USAGE', `-j needs a number, not '${value}'.`);
      args.jobs = jobs;
      break;
    }
    default:
      args[key] = value;
  }
}
