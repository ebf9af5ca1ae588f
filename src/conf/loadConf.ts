import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { kernelConfigPath, kernelSourceDir, readKernelConfig } from '../kernel/kernel.js';
import type { BuildRef } from '../core/stateTree.js';
import type { BashEvalResult } from '../core/bashEval.js';
import { evaluateCached } from '../core/cachedEval.js';
import { DKMS_CONF_VARIABLES } from './directives.js';
import { isKernelIndependent, legacyVariables } from './staticConf.js';
import { resolveDkmsConf, type DkmsConf, type RawConf } from './dkmsConf.js';

/** The override files dkms sources after a module's dkms.conf, most general first. */
export function overrideFiles(
  confDir: string,
  ref: BuildRef,
  present?: ReadonlySet<string>,
): string[] {
  const { module: m, version: v, kernel: k, arch: a } = ref;
  const names = [
    `${m}.conf`,
    `${m}-${v}.conf`,
    `${m}-${v}-${k}.conf`,
    `${m}-${v}-${k}-${a}.conf`,
    `${m}--${k}.conf`,
    `${m}--${k}-${a}.conf`,
  ];
  return names.filter((name) => !present || present.has(name)).map((name) => join(confDir, name));
}

/** The names in the conf dir, read once per batch so absent override files cost nothing. */
function confDirEntries(confDir: string): ReadonlySet<string> {
  try {
    return new Set(readdirSync(confDir));
  } catch {
    return new Set();
  }
}

/** `--directive NAME=VALUE` / `NAME[i]=VALUE` applied over what the files set. */
export function applyDirectives(
  raw: Map<string, Map<number, string>>,
  directives: readonly string[],
): void {
  for (const directive of directives) {
    const match = /^([A-Za-z_]\w*)(?:\[(\d+)\])?=(.*)$/s.exec(directive);
    if (!match?.[1]) {
      throw new DkmsError('USAGE', `Invalid --directive '${directive}': expected NAME=VALUE.`);
    }
    const array = new Map(raw.get(match[1]) ?? []);
    array.set(Number(match[2] ?? 0), match[3] ?? '');
    raw.set(match[1], array);
  }
}

export interface ConfRequest extends BuildRef {
  /** A dkms.conf other than the module's own (add from a directory, -c). */
  confPath?: string;
}

export type ConfOutcome =
  { ok: true; conf: DkmsConf; raw: RawConf } | { ok: false; error: DkmsError };

function outcome(
  result: BashEvalResult | undefined,
  request: ConfRequest,
  confPath: string,
  ctx: DkmsContext,
): ConfOutcome {
  if (!result) {
    return {
      ok: false,
      error: new DkmsError(
        'CONF_INVALID',
        `Bad conf file.\nFile: ${confPath} could not be evaluated.`,
      ),
    };
  }
  if (result.failure) {
    return {
      ok: false,
      error: new DkmsError('CONF_SYNTAX', `Bad conf file.\nFile: ${confPath}\n${result.failure}`, {
        hint: 'dkms.conf is a bash script: check it with `bash -n dkms.conf`.',
      }),
    };
  }
  // what the files wrote to stderr (bash's own syntax errors too) passes through, as in dkms
  if (result.stderr.trim()) ctx.reporter.error(result.stderr.trimEnd());
  const raw = new Map(result.values);
  try {
    applyDirectives(raw, ctx.directives);
    const sourceDir = kernelSourceDir(ctx.paths.installTree, request.kernel, ctx.kernelSourceDir);
    const conf = resolveDkmsConf(raw, {
      module: request.module,
      moduleVersion: request.version,
      kernelver: request.kernel,
      arch: request.arch,
      kernelSourceDir: sourceDir,
      dkmsTree: ctx.paths.dkmsTree,
      distro: ctx.distro,
      kernelConfig: readKernelConfig(kernelConfigPath(sourceDir, ctx.kernelConfigFile)),
      confPath,
      shownConfPath: request.confPath ?? ctx.confFile ?? '',
    });
    return { ok: true, conf, raw };
  } catch (error) {
    if (error instanceof DkmsError) return { ok: false, error };
    throw error;
  }
}

/**
 * Evaluates the dkms.conf of every request in one bash process, each in its own subshell
 * with the variables dkms exposes, then resolves it for that kernel.
 */
export async function loadConfs(
  ctx: DkmsContext,
  requests: readonly ConfRequest[],
): Promise<ConfOutcome[]> {
  const confPaths = requests.map((r) => r.confPath ?? ctx.confFile ?? ctx.tree.confPath(r));
  const keys = requests.map((r, i) =>
    [confPaths[i], r.module, r.version, r.kernel, r.arch].join('\0'),
  );
  const cached = keys.map((key) => ctx.confCache?.get(key) as ConfOutcome | undefined);
  const todo = requests.map((_, i) => i).filter((i) => cached[i] === undefined);
  const present = todo.length > 0 ? confDirEntries(ctx.paths.confDir) : new Set<string>();
  const evalRequests = todo.map((i) => {
    const request = requests[i] as ConfRequest;
    const sourceDir = kernelSourceDir(ctx.paths.installTree, request.kernel, ctx.kernelSourceDir);
    const files = [confPaths[i] ?? '', ...overrideFiles(ctx.paths.confDir, request, present)];
    return {
      files,
      whitelist: [...DKMS_CONF_VARIABLES, ...legacyVariables(files)],
      variables: {
        kernelver: request.kernel,
        arch: request.arch,
        kernel_source_dir: sourceDir,
        kernel_config: kernelConfigPath(sourceDir, ctx.kernelConfigFile),
        dkms_tree: ctx.paths.dkmsTree,
        source_tree: ctx.paths.sourceTree,
        install_tree: ctx.paths.installTree,
        module: request.module,
        module_version: request.version,
        parallel_jobs: ctx.parallelJobs === 0 ? '' : String(ctx.parallelJobs),
      },
    };
  });
  // Requests whose files cannot depend on the kernel share one evaluation; plain files (only
  // assignments) are evaluated once per text and values read, and kept across commands.
  const shareKeys = evalRequests.map((r, j) =>
    r.files.every(isKernelIndependent)
      ? [...r.files, r.variables.module, r.variables.module_version].join('\0')
      : `#${j}`,
  );
  const unique = [...new Set(shareKeys)];
  const uniqueResults = await evaluateCached(
    unique.map((key) => evalRequests[shareKeys.indexOf(key)] as (typeof evalRequests)[number]),
    ctx.paths.cacheDir,
  );
  const byKey = new Map(unique.map((key, n) => [key, uniqueResults[n]]));
  const results = shareKeys.map((key) => byKey.get(key));
  todo.forEach((i, j) => {
    const request = requests[i] as ConfRequest;
    const path = confPaths[i] ?? '';
    const result = existsSync(path)
      ? outcome(results[j], request, path, ctx)
      : ({
          ok: false,
          error: new DkmsError(
            'CONF_NOT_FOUND',
            `Could not locate dkms.conf file.\nFile: ${path} does not exist.`,
          ),
        } as const);
    cached[i] = result;
    ctx.confCache?.set(keys[i] ?? '', result);
  });
  return cached as ConfOutcome[];
}

/** One conf, or the error that explains why it cannot be used. */
export async function loadConfOrThrow(ctx: DkmsContext, request: ConfRequest): Promise<DkmsConf> {
  const confPath = request.confPath ?? ctx.confFile ?? ctx.tree.confPath(request);
  const [result] = await loadConfs(ctx, [request]);
  if (!result)
    throw new DkmsError(
      'CONF_NOT_FOUND',
      `Could not locate dkms.conf file.\nFile: ${confPath} does not exist.`,
    );
  if (!result.ok) throw result.error;
  return result.conf;
}
