import { readFileSync } from 'node:fs';
import { bashEvaluate, type BashEvalRequest, type BashEvalResult } from './bashEval.js';
import { evalCacheIn, evalKey } from './evalCache.js';
import { FileMemo } from './fileMemo.js';
import { plainInputs, scanPlainFile } from './plainFiles.js';

// A file's text and what it assigns and reads, when it is only plain assignments.
const plainFiles = new FileMemo((file: string) => {
  try {
    const text = readFileSync(file, 'utf8');
    // bash gets the text as one argument, which the kernel limits to 128 KiB
    const scan = text.length <= 32 * 1024 ? scanPlainFile(text) : undefined;
    return scan && { text, scan };
  } catch {
    return undefined;
  }
});

/** The cache key and the texts of a request whose files are all plain, else undefined. */
function plainEvaluation(request: BashEvalRequest): { key: string; texts: string[] } | undefined {
  const files = request.files.map((file) => plainFiles.get(file));
  const inputs = plainInputs(
    files.map((file) => file?.scan),
    new Set(Object.keys(request.variables)),
  );
  if (!inputs) return undefined;
  const texts = files.map((file) => file?.text ?? '');
  return {
    key: evalKey(
      texts,
      inputs.map((name) => [name, request.variables[name] ?? ''] as const),
      request.whitelist,
    ),
    texts,
  };
}

/**
 * bashEvaluate, but a request whose files are all plain assignments (src/core/plainFiles.ts)
 * is evaluated once per text and values read: bash evaluates the very texts examined, and its
 * result is kept in `cacheDir` (src/core/evalCache.ts) for the next command; requests that
 * come to the same evaluation share it. Without a cacheDir, only the sharing.
 */
export async function evaluateCached(
  requests: readonly BashEvalRequest[],
  cacheDir: string | undefined,
): Promise<BashEvalResult[]> {
  const plain = requests.map(plainEvaluation);
  const cache = cacheDir ? evalCacheIn(cacheDir) : undefined;
  const results: (BashEvalResult | undefined)[] = requests.map((_, i) => {
    const values = plain[i] && cache?.get(plain[i].key);
    return values ? { values, stderr: '' } : undefined;
  });
  // what bash still evaluates: each plain key once, every other request
  const todo: number[] = [];
  const firstOfKey = new Map<string, number>();
  requests.forEach((_, i) => {
    if (results[i]) return;
    const key = plain[i]?.key;
    if (key !== undefined && firstOfKey.has(key)) return;
    if (key !== undefined) firstOfKey.set(key, i);
    todo.push(i);
  });
  const evaluated = await bashEvaluate(
    todo.map((i) => {
      const request = requests[i] as BashEvalRequest;
      const texts = plain[i]?.texts;
      return texts ? { ...request, texts } : request;
    }),
  );
  todo.forEach((i, n) => {
    const result = evaluated[n];
    results[i] = result;
    const key = plain[i]?.key;
    if (cache && key !== undefined && result && !result.failure && !result.stderr.trim())
      cache.set(key, result.values);
  });
  cache?.save();
  return requests.map((_, i) => {
    const key = plain[i]?.key;
    const result =
      results[i] ?? (key === undefined ? undefined : results[firstOfKey.get(key) ?? -1]);
    return result ?? { values: new Map(), stderr: '', failure: 'bash did not evaluate the file' };
  });
}
