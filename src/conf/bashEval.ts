import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeclareOutput } from './declareParser.js';

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
}

export interface BashEvalResult {
  /** Whitelisted variables that were set, as sparse arrays (index -> value). */
  values: Map<string, Map<number, string>>;
  /** What the files wrote to stderr. */
  stderr: string;
  /** A bash syntax error, or the subshell exited before the end of the files. */
  failure?: string;
}

/** PATH given to the configuration scripts; nothing else of dkms's environment leaks in. */
export const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// The bash side: reads NUL-separated requests on stdin, writes NUL-separated records to fd 3.
// What the files print on stderr passes through, between `\0\1B<id>\0` / `\0\1F<file>\0` markers.
// Requests go through stdin, not argv: a bash holding thousands of arguments forks slowly.
const DRIVER = [
  'exec 3>&1 1>/dev/null 4<&0 0</dev/null',
  'shopt -s extglob',
  "mapfile -d '' -u 4 __dkms_in; exec 4<&-; __dkms_at=0",
  '__dkms_list() { local -n __dkms_into=$1; local __n=${__dkms_in[__dkms_at++]}; __dkms_into=("${__dkms_in[@]:__dkms_at:__n}"); ((__dkms_at += __n)); }',
  'while ((__dkms_at < ${#__dkms_in[@]})); do',
  '  __dkms_id=${__dkms_in[__dkms_at++]}',
  '  __dkms_list __dkms_vars; __dkms_list __dkms_white; __dkms_list __dkms_files',
  '  printf \'B\\0%s\\0\' "$__dkms_id" >&3',
  '  printf \'\\0\\1B%s\\0\' "$__dkms_id" >&2',
  '  (',
  '    for __dkms_a in "${__dkms_vars[@]}"; do printf -v "${__dkms_a%%=*}" \'%s\' "${__dkms_a#*=}"; done',
  '    unset -v __dkms_a __dkms_vars __dkms_id',
  '    unset -f __dkms_list',
  '    for __dkms_f in "${__dkms_files[@]}"; do',
  '      __dkms_mode=${__dkms_f%%:*} __dkms_f=${__dkms_f#*:}',
  '      [[ -e $__dkms_f ]] || continue',
  '      printf \'\\0\\1F%s\\0\' "$__dkms_f" >&2',
  '      if [[ $__dkms_mode == c ]]; then',
  '        __dkms_c=$(<"$__dkms_f")',
  '        [[ $__dkms_f == */* ]] && builtin cd -- "${__dkms_f%/*}"',
  '        eval "${__dkms_c//$\'\\r\'/}"',
  '      else',
  '        . "$__dkms_f"',
  '      fi',
  '    done',
  '    __dkms_names=()',
  '    for __dkms_v in "${__dkms_white[@]}"; do',
  '      if [[ $__dkms_v == *\'*\' ]]; then eval "__dkms_names+=(\\${!${__dkms_v%\'*\'}@})"; else __dkms_names+=("$__dkms_v"); fi',
  '    done',
  "    printf 'D\\0' >&3",
  '    declare -p "${__dkms_names[@]}" 2>/dev/null >&3',
  "    printf '\\0' >&3",
  "    printf 'Z\\0' >&3",
  '  )',
  '  printf \'X\\0%s\\0\' "$?" >&3',
  'done',
].join('\n');

function driverInput(requests: readonly BashEvalRequest[]): string {
  const fields: string[] = [];
  requests.forEach((request, id) => {
    const vars = Object.entries(request.variables).map(([k, v]) => `${k}=${v}`);
    fields.push(String(id), String(vars.length), ...vars);
    fields.push(String(request.whitelist.length), ...request.whitelist);
    const files = request.files.map((file) => `${hasCarriageReturn(file) ? 'c' : 's'}:${file}`);
    fields.push(String(files.length), ...files);
  });
  return fields.map((field) => `${field.replace(/\0/g, '')}\0`).join('');
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

/** Hands each request the stderr its files wrote, and turns a syntax error into a failure. */
function attributeStderr(results: BashEvalResult[], stderr: string): void {
  let request = -1;
  let file = '';
  for (const token of stderr.split('\0')) {
    if (token.startsWith('\x01B')) {
      request++;
      file = '';
    } else if (token.startsWith('\x01F')) {
      file = token.slice(2);
    } else if (token.trim() && results[request]) {
      const result = results[request] as BashEvalResult;
      result.stderr += token.endsWith('\n') ? token : `${token}\n`;
      const syntax = token
        .split('\n')
        .find((line) => /syntax error|unexpected (EOF|end of file)/.test(line));
      if (syntax && !result.failure) {
        result.failure = `${file}: ${syntax.replace(/^.*?line (\d+)/, 'line $1')}`;
      }
    }
  }
}

function runDriver(requests: readonly BashEvalRequest[]): Promise<BashEvalResult[]> {
  return new Promise<[string, string]>((resolve, reject) => {
    // bash reads a pipe one byte at a time but buffers a regular file, so the requests go
    // through an unlinked temporary file.
    const path = join(tmpdir(), `dkms-conf.${process.pid}.${randomBytes(6).toString('hex')}`);
    writeFileSync(path, driverInput(requests), { mode: 0o600 });
    const input = openSync(path, 'r');
    unlinkSync(path);
    const child = spawn('bash', ['--noprofile', '--norc', '-c', DRIVER, 'dkms-conf'], {
      env: { PATH: CLEAN_PATH },
      stdio: [input, 'pipe', 'pipe'],
    });
    closeSync(input);
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

/**
 * Evaluates all requests, each in its own bash subshell. A subshell costs a fork, so large
 * batches are split over one bash process per CPU.
 */
export async function bashEvaluate(
  requests: readonly BashEvalRequest[],
): Promise<BashEvalResult[]> {
  if (requests.length === 0) return [];
  const workers = Math.max(1, Math.min(availableParallelism(), Math.floor(requests.length / 8)));
  const size = Math.ceil(requests.length / workers);
  const slices: BashEvalRequest[][] = [];
  for (let i = 0; i < requests.length; i += size) slices.push(requests.slice(i, i + size));
  const results = await Promise.all(slices.map(runDriver));
  return results.flat();
}

/** A scalar (index 0) from a result, or undefined when unset. */
export function scalar(result: BashEvalResult, name: string): string | undefined {
  return result.values.get(name)?.get(0);
}
