import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DkmsContext } from '../core/context.js';
import { DkmsError } from '../core/errors.js';
import { appendLog, runTool } from '../core/exec.js';
import type { FrameworkConf } from '../core/framework.js';
import {
  probeBwrap,
  readTail,
  sandboxCommand,
  sandboxSigns,
  type SandboxSign,
  type SandboxSpec,
  type SandboxUser,
} from '../core/sandbox.js';
import { kernelSourceDir } from '../kernel/kernel.js';
import { isExecutable, which } from '../sign/signingInputs.js';
import type { BuildPlan } from './buildPlan.js';

/*
 * Which builds run in the bubblewrap sandbox (framework.conf build_sandbox,
 * build_sandbox_exempt, build_sandbox_user) and the sandbox's life around one build: the
 * build directory handed to the unprivileged user and back, built files checked before root
 * touches them, failures explained.
 */

/** What framework.conf asks for, and what this machine has. */
export interface SandboxInputs {
  framework: Pick<FrameworkConf, 'build_sandbox' | 'build_sandbox_exempt'>;
  module: string;
  /** bwrap's path when installed, and whether it could make a sandbox here. */
  bwrap: { path: string; works: true } | { path: string | undefined; works: false; why: string };
}

export type SandboxDecision =
  | { sandbox: true; bwrap: string }
  | {
      sandbox: false;
      /** Why, for --verbose. */
      reason: string;
      /** The one line to show when the default could not be had. */
      notice?: string;
      /** What gets the sandbox back (or silences the notice), when it was wanted. */
      fix?: string;
      /** The build must not run: build_sandbox=bwrap was asked for and cannot be had. */
      error?: string;
    };

/** The module names of `build_sandbox_exempt` (blank-separated). */
export const exemptModules = (framework: Pick<FrameworkConf, 'build_sandbox_exempt'>): string[] =>
  (framework.build_sandbox_exempt ?? '').split(/\s+/).filter(Boolean);

/** Whether one build of one module gets the sandbox: a pure function of what was read. */
export function decideSandbox(input: SandboxInputs): SandboxDecision {
  const setting = (input.framework.build_sandbox ?? '').trim();
  if (setting === 'none') return { sandbox: false, reason: 'build_sandbox=none' };
  if (exemptModules(input.framework).includes(input.module))
    return { sandbox: false, reason: `${input.module} is listed in build_sandbox_exempt` };
  if (input.bwrap.works) return { sandbox: true, bwrap: input.bwrap.path };
  const why = input.bwrap.path
    ? `bwrap cannot create a sandbox here (${input.bwrap.why})`
    : 'bwrap is not installed';
  const fix = input.bwrap.path
    ? 'let it create namespaces, or set build_sandbox=none in framework.conf'
    : 'install bubblewrap, or set build_sandbox=none in framework.conf';
  if (setting === 'bwrap')
    return {
      sandbox: false,
      reason: why,
      fix,
      error: `build_sandbox=bwrap is set in framework.conf, but ${why}: not building ${input.module}.`,
    };
  return {
    sandbox: false,
    reason: why,
    fix,
    notice: `Building without a sandbox: ${why} (${fix}).`,
  };
}

/** What the sandbox means for one build; a no-op object when the build is not sandboxed. */
export interface BuildSandbox {
  readonly active: boolean;
  /** Once the build directory holds the source: hands it to the build user. */
  enter: () => Promise<void>;
  /** A step's shell command line, confined when the sandbox is on. */
  wrap: (command: string, cwd: string) => string;
  /** Built modules must be regular files inside the build directory before root reads them. */
  checkBuilt(files: readonly string[]): void;
  /** A failed step's error, with what the sandbox stopped and how to opt out. */
  explain(error: DkmsError, logFile: string): DkmsError;
  /** Gives the build directory back to the caller's user. */
  close(): Promise<void>;
}

const unconfined: BuildSandbox = {
  active: false,
  enter: () => Promise.resolve(),
  wrap: (command) => command,
  checkBuilt: () => undefined,
  explain: (error) => error,
  close: () => Promise.resolve(),
};

type Availability = SandboxInputs['bwrap'];
const availability = new WeakMap<DkmsContext, Promise<Availability>>();
const noticed = new WeakSet<DkmsContext>();

/** bwrap's availability, probed once per command (or daemon context). */
export function bwrapAvailability(ctx: DkmsContext): Promise<Availability> {
  let known = availability.get(ctx);
  if (!known) {
    known = (async (): Promise<Availability> => {
      const wanted = process.env['DKMS_BWRAP'];
      const path = wanted ? (isExecutable(wanted) ? wanted : undefined) : which('bwrap');
      if (!path) return { path: undefined, works: false, why: 'not installed' };
      const probe = await probeBwrap(path);
      return probe.ok ? { path, works: true } : { path, works: false, why: probe.why };
    })();
    availability.set(ctx, known);
  }
  return known;
}

const PRIVATE_MOUNTS = ['/tmp/', '/run/'];
const hiddenInside = (path: string): boolean =>
  PRIVATE_MOUNTS.some((prefix) => path.startsWith(prefix));

const resolved = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

/**
 * The build's inputs that a private /tmp or /run would hide, to mount again read-only, parents
 * first. A symbolic link needs its directory (where the link is) and its target.
 */
function readablePaths(ctx: DkmsContext, plan: BuildPlan): string[] {
  const versionDir = dirname(plan.workDir);
  const kernelDir = kernelSourceDir(ctx.paths.installTree, plan.ref.kernel, ctx.kernelSourceDir);
  // /etc/dkms/<module>/: PRE_BUILD/POST_BUILD found there run from there
  const overrides = join(ctx.paths.confDir, plan.ref.module);
  const candidates = [versionDir, plan.sourceDir, kernelDir, ctx.kernelConfigFile, overrides];
  const paths = candidates.flatMap((path) => {
    if (!path) return [];
    const link = lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink();
    return link ? [dirname(path), resolved(path)] : [path];
  });
  return [...new Set(paths)]
    .filter((path): path is string => path !== undefined && hiddenInside(path) && existsSync(path))
    .sort((a, b) => a.length - b.length);
}

/** Signing keys a build must never read. */
function maskedFiles(ctx: DkmsContext): string[] {
  const keys = [
    join(ctx.paths.dkmsTree, 'mok.key'),
    ctx.framework.mok_signing_key,
    '/var/lib/shim-signed/mok/MOK.priv',
  ];
  return keys.filter(
    (key): key is string =>
      Boolean(key) &&
      !key?.startsWith('pkcs11:') &&
      !hiddenInside(key ?? '') &&
      existsSync(key ?? ''),
  );
}

/** `build_sandbox_user` (default nobody) as uid/gid, when dkms runs as root. */
async function sandboxUser(ctx: DkmsContext): Promise<SandboxUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = (ctx.framework.build_sandbox_user ?? 'nobody').trim();
  if (name === '' || name === 'root' || name === '0') return undefined;
  const setpriv = which('setpriv');
  if (!setpriv) return undefined;
  const numeric = /^(\d+):(\d+)$/.exec(name);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2]), setpriv };
  const entry = await runTool('getent', ['passwd', name]);
  const fields = entry.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (entry.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return uid === 0 ? undefined : { uid, gid, setpriv };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<boolean> {
  const result = await runTool('chown', ['-R', '--no-dereference', `${uid}:${gid}`, dir]);
  return result.exitCode === 0;
}

const SIGN_WORDS: Record<SandboxSign, string> = {
  'read-only': 'a write outside the build directory (read-only file system)',
  network: 'a network access',
  permission: 'an access the unprivileged build user lacks (permission denied)',
  bwrap: 'bwrap itself failing',
};

/** The explanation added to a failed build that the sandbox may have caused. */
export function sandboxHint(
  module: string,
  workDir: string,
  confDir: string,
  signs: readonly SandboxSign[],
): string {
  const what = signs.map((sign) => SIGN_WORDS[sign]).join(', ');
  return [
    `The build of ${module} ran in the dkms build sandbox (bubblewrap), where only ${workDir} and a private /tmp are writable and there is no network; its log shows ${what}.`,
    `To build ${module} without the sandbox, add it to build_sandbox_exempt in ${join(confDir, 'framework.conf')} (build_sandbox_exempt="${module}"), or set build_sandbox=none there for every module.`,
  ].join('\n');
}

/**
 * Decides the sandbox for one build and prepares it: when dkms runs as root, the build
 * directory goes to `build_sandbox_user` if that user can reach everything the build needs,
 * otherwise the build runs as root with every capability dropped.
 */
export async function openBuildSandbox(ctx: DkmsContext, plan: BuildPlan): Promise<BuildSandbox> {
  const { module } = plan.ref;
  const decision = decideSandbox({
    framework: ctx.framework,
    module,
    bwrap: await bwrapAvailability(ctx),
  });
  if (!decision.sandbox) {
    if (decision.error)
      throw new DkmsError('SANDBOX_UNAVAILABLE', decision.error, {
        hint: 'Install bubblewrap, or set build_sandbox=none (or list the module in build_sandbox_exempt) in framework.conf.',
      });
    if (decision.notice && !noticed.has(ctx)) {
      noticed.add(ctx);
      ctx.reporter.warn(decision.notice);
    }
    ctx.reporter.verbose(`Building ${module} without the sandbox: ${decision.reason}.`);
    return unconfined;
  }
  const spec: SandboxSpec = {
    bwrap: decision.bwrap,
    writableDir: plan.workDir,
    readable: readablePaths(ctx, plan),
    masked: maskedFiles(ctx),
  };
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  let handedOver = false;
  const enter = async (): Promise<void> => {
    const user = await sandboxUser(ctx);
    if (user) {
      // bwrap, run as the user, must reach every path it mounts: the tree must allow it
      const probe = sandboxCommand({ ...spec, user }, plan.workDir, 'true');
      const result = await runTool('bash', ['-c', probe]);
      if (result.exitCode !== 0)
        ctx.reporter.verbose(
          `The build user (uid ${user.uid}) cannot reach the build's files (${result.stderr.trim()}): building ${module} as root without capabilities.`,
        );
      else if (await chownTree(plan.workDir, user.uid, user.gid)) {
        handedOver = true;
        spec.user = user;
      }
    }
    ctx.reporter.verbose(
      `Building ${module} in the sandbox (${spec.user ? `uid ${spec.user.uid}` : 'root without capabilities'}).`,
    );
  };
  const realWorkDir = resolved(plan.workDir) ?? plan.workDir;
  return {
    active: true,
    enter,
    wrap: (command, cwd) => sandboxCommand(spec, cwd, command),
    checkBuilt(files) {
      for (const file of files) {
        const stat = lstatSync(file, { throwIfNoEntry: false });
        const real = resolved(file);
        if (!stat?.isFile() || stat.nlink > 1 || !real?.startsWith(`${realWorkDir}/`))
          throw new DkmsError(
            'BUILD_FAILED',
            `${file} is not a plain file of the build directory (a link?): the sandboxed build of ${module} is not collected.`,
          );
      }
    },
    explain(error, logFile) {
      const signs = sandboxSigns(readTail(logFile)).filter(
        (sign) => sign !== 'permission' || spec.user !== undefined,
      );
      if (signs.length === 0) return error;
      const hint = sandboxHint(module, plan.workDir, ctx.paths.confDir, signs);
      // a failed build script's error has no message (upstream prints none): say it here
      if (!error.message) ctx.reporter.warn(hint);
      try {
        appendLog(logFile, `\n# dkms-ts: ${hint.replace(/\n/g, '\n# dkms-ts: ')}\n`);
      } catch {
        // the log is gone; the message still says it
      }
      return new DkmsError(error.code, error.message, {
        hint: error.hint ? `${error.hint}\n${hint}` : hint,
        advice: error.advice,
        logPath: error.logPath,
        exitCode: error.exitCode,
        cause: error,
      });
    },
    async close() {
      if (handedOver && existsSync(plan.workDir))
        await chownTree(plan.workDir, owner.uid, owner.gid);
    },
  };
}
