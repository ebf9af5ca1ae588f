import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseDeclareOutput } from './declareParser.js';
import { shellQuote } from '../util/shell.js';

/**
 * Evaluates shell configuration files (dkms.conf, framework.conf) the way dkms does: each
 * request is sourced by bash in its own subshell, with only the given variables set, and only
 * whitelisted variables come back. Many requests share one bash process, so `dkms status`
 * over 60 module/kernel pairs costs one spawn, not sixty.
 */
export interface BashEvalRequest {
  /** Files sourced in order; missing ones are skipped. */
  files: string[];
  /** Variables visible to the files while they run. */
  variables: Record<string, string>;
  /** Names of the variables to return (scalars come back as index 0); `NAME_*` returns every
   * variable with that prefix (the old `MAKE_<text>` / `PATCH_<text>` forms). */
  whitelist: readonly string[];
  /**
   * The texts of some files, read already: bash evaluates these strings instead of reading the
   * files again, so that what it evaluated is exactly what the caller looked at.
   */
  texts?: readonly (string | undefined)[];
}

export interface BashEvalResult {
  /** Whitelisted variables that were set, as sparse arrays (index -> value). */
  values: Map<string, Map<number, string>>;
  /** What the files wrote to stderr. */
  stderr: string;
  /**
   * The subshell exited before the end of the files. A syntax error is not one: as when dkms
   * sources the file, bash's message is in `stderr` and what was set before it counts.
   */
  failure?: string;
}

/** PATH given to the configuration scripts; nothing else of dkms's environment leaks in. */
export const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// The bash side: a prelude defining __dkms_run, then a few lines per request (generated
// below): markers, and a subshell that sets the variables dkms exposes and sources the files.
// Records go to fd 3, NUL-separated; what the files print on stderr passes through between
// `\0\1B<id>\0` / `\0\1F<file>\0` markers. The whole script is one `bash -c` string, parsed by
// bash in C: reading requests at run time with `read`/arrays cost about a millisecond each.
const PRELUDE = [
  'exec 3>&1 1>/dev/null </dev/null',
  'shopt -s extglob',
  '__dkms_run() {',
  '  local __dkms_f __dkms_mode __dkms_c __dkms_v',
  '  while (($#)); do',
  '    __dkms_f=$1',
  '    shift',
  '    __dkms_mode=${__dkms_f%%:*} __dkms_f=${__dkms_f#*:}',
  '    if [[ $__dkms_mode == t ]]; then',
  '      printf \'\\0\\1F%s\\0\' "$__dkms_f" >&2',
  '      eval "$1"',
  '      shift',
  '      continue',
  '    fi',
  '    [[ -e $__dkms_f ]] || continue',
  '    printf \'\\0\\1F%s\\0\' "$__dkms_f" >&2',
  '    if [[ $__dkms_mode == c ]]; then',
  '      __dkms_c=$(<"$__dkms_f")',
  '      [[ $__dkms_f == */* ]] && builtin cd -- "${__dkms_f%/*}"',
  '      eval "${__dkms_c//$\'\\r\'/}"',
  '    else',
  '      . "$__dkms_f"',
  '    fi',
  '  done',
  '  __dkms_names=()',
  '  for __dkms_v in "${__dkms_white[@]}"; do',
  '    if [[ $__dkms_v == *\'*\' ]]; then eval "__dkms_names+=(\\${!${__dkms_v%\'*\'}@})"; else __dkms_names+=("$__dkms_v"); fi',
  '  done',
  "  printf 'D\\0' >&3",
  '  declare -p "${__dkms_names[@]}" 2>/dev/null >&3',
  "  printf '\\0' >&3",
  "  printf 'Z\\0' >&3",
  '}',
].join('\n');

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The bash script that evaluates these requests, and its arguments: the texts given for files,
 * which the script reads as its positional parameters (one argument may hold 128 KiB, the
 * script itself being one; all of them together about 2 MiB).
 */
export function driverScript(requests: readonly BashEvalRequest[]): {
  script: string;
  args: string[];
} {
  const lines = [PRELUDE];
  const args: string[] = [];
  let white: string | undefined;
  requests.forEach((request, id) => {
    const whitelist = `__dkms_white=(${request.whitelist.map(shellQuote).join(' ')})`;
    if (whitelist !== white) lines.push(whitelist);
    white = whitelist;
    const assignments = Object.entries(request.variables)
      .filter(([name]) => NAME.test(name))
      .map(([name, value]) => `${name}=${shellQuote(value)}`);
    const files = request.files.map((file, k) => {
      const text = request.texts?.[k];
      if (text === undefined) return shellQuote(`${hasCarriageReturn(file) ? 'c' : 's'}:${file}`);
      args.push(text.replace(/\0/g, ''));
      return `${shellQuote(`t:${file}`)} "\${${args.length}}"`;
    });
    lines.push(
      `printf 'B\\0%s\\0' ${id} >&3; printf '\\0\\1B%s\\0' ${id} >&2`,
      `( ${[...assignments, `__dkms_run ${files.join(' ')}`].join('; ')} )`,
      `printf 'X\\0%s\\0' "$?" >&3`,
    );
  });
  return { script: lines.join('\n'), args };
}

function hasCarriageReturn(file: string): boolean {
  try {
    return readFileSync(file).includes(13);
  } catch {
    return false;
  }
}

/** Parses the driver's NUL-separated stream into one result per request. */
export function parseDriverOutput(output: string, count: number, stderr = ''): BashEvalResult[] {
  const tokens = output.split('\0');
  const results: BashEvalResult[] = [];
  let current: BashEvalResult | undefined;
  let finished = false;
  let i = 0;
  while (i < tokens.length) {
    const tag = tokens[i++];
    if (tag === 'B') {
      i++;
      current = { values: new Map(), stderr: '' };
      finished = false;
      results.push(current);
    } else if (tag === 'D' && current) {
      for (const [name, array] of parseDeclareOutput(tokens[i++] ?? '')) {
        for (const [index, value] of array) array.set(index, value.replace(/\r+$/, ''));
        current.values.set(name, array);
      }
    } else if (tag === 'Z') {
      finished = true;
    } else if (tag === 'X' && current) {
      const status = tokens[i++];
      if (!finished && !current.failure) {
        current.failure = `the file exited (status ${status}) before it finished`;
      }
    }
  }
  while (results.length < count) {
    results.push({ values: new Map(), stderr: '', failure: 'bash did not evaluate the file' });
  }
  attributeStderr(results, stderr);
  return results;
}

/** Hands each request the stderr its files wrote. */
function attributeStderr(results: BashEvalResult[], stderr: string): void {
  let request = -1;
  for (const token of stderr.split('\0')) {
    if (token.startsWith('\x01B')) {
      request++;
    } else if (token.startsWith('\x01F')) {
      // which file speaks next: bash names it itself in its messages
    } else if (token.trim() && results[request]) {
      const result = results[request] as BashEvalResult;
      result.stderr += token.endsWith('\n') ? token : `${token}\n`;
    }
  }
}

function runDriver(requests: readonly BashEvalRequest[]): Promise<BashEvalResult[]> {
  // loaded when first needed (4 ms): a command whose files all come from the cache never
  // spawns; getBuiltinModule, not import(), which the code-cached bundle cannot run
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise<[string, string]>((resolve, reject) => {
    const { script, args } = driverScript(requests);
    const child = spawn('bash', ['--noprofile', '--norc', '-c', script, 'dkms-conf', ...args], {
      env: { PATH: CLEAN_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', reject);
    child.on('close', () =>
      resolve([Buffer.concat(chunks).toString('utf8'), Buffer.concat(errors).toString('utf8')]),
    );
  }).then(([output, stderr]) => parseDriverOutput(output, requests.length, stderr));
}

// What one bash process is given at most: its script is one argument, and one argument may
// hold 128 KiB; all arguments together may hold about 2 MiB (with the environment).
const SCRIPT_BUDGET = 96 * 1024;
const ARGS_BUDGET = 1024 * 1024;

/** A rough size of what a request adds to the driver's script and arguments. */
function footprint(request: BashEvalRequest): { script: number; args: number } {
  let script = 200 + request.whitelist.join(' ').length;
  for (const [name, value] of Object.entries(request.variables))
    script += name.length + value.length + 8;
  let args = 0;
  request.files.forEach((file, k) => {
    script += file.length + 16;
    args += (request.texts?.[k]?.length ?? 0) + 1;
  });
  return { script, args };
}

/**
 * Evaluates all requests, each in its own bash subshell. A subshell costs a fork (about 0.6 ms,
 * more for a conf that runs commands), a bash process about 3 ms of spawning: from 8 requests
 * on they are split over one bash process per CPU (12 scripted confs of `dkms status`: 7 ms
 * less on 2 CPUs), and further when one process's script or arguments would pass what the
 * kernel takes.
 */
export async function bashEvaluate(
  requests: readonly BashEvalRequest[],
): Promise<BashEvalResult[]> {
  if (requests.length === 0) return [];
  const workers = Math.max(1, Math.min(availableParallelism(), Math.floor(requests.length / 4)));
  const size = Math.ceil(requests.length / workers);
  const slices: BashEvalRequest[][] = [];
  let slice: BashEvalRequest[] = [];
  let script = 0;
  let args = 0;
  for (const request of requests) {
    const cost = footprint(request);
    if (
      slice.length > 0 &&
      (slice.length >= size ||
        script + cost.script > SCRIPT_BUDGET ||
        args + cost.args > ARGS_BUDGET)
    ) {
      slices.push(slice);
      slice = [];
      script = args = 0;
    }
    slice.push(request);
    script += cost.script;
    args += cost.args;
  }
  slices.push(slice);
  const results = await Promise.all(slices.map(runDriver));
  return results.flat();
}

/** A scalar (index 0) from a result, or undefined when unset. */
export function scalar(result: BashEvalResult, name: string): string | undefined {
  return result.values.get(name)?.get(0);
}
