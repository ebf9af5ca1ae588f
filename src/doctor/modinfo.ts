import { runTool } from '../core/exec.js';

/** modinfo's fields for one module; repeated fields (alias, depends...) keep their first value. */
export type ModuleInfo = ReadonlyMap<string, string>;

/**
 * Parses `modinfo FILE...` output: each module starts with `filename:`, continuation lines
 * (the signature's hex dump) start with a tab.
 */
export function parseModinfo(text: string): Map<string, ModuleInfo> {
  const modules = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastField: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && current && lastField) {
      current.set(lastField, `${current.get(lastField) ?? ''}${line.trim()}`);
      continue;
    }
    const match = /^([\w.-]+):\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    const [, field, value = ''] = match;
    if (field === 'filename') {
      current = new Map();
      modules.set(value.trim(), current);
    }
    if (current && !current.has(field)) current.set(field, value.trim());
    lastField = field;
  }
  return modules;
}

/** One modinfo run for many files; files modinfo cannot read are absent from the result. */
export async function modinfoMany(files: readonly string[]): Promise<Map<string, ModuleInfo>> {
  if (files.length === 0) return new Map();
  const result = await runTool('modinfo', [...files]);
  return parseModinfo(result.stdout);
}

/** `6.1.0-47-amd64 SMP preempt mod_unload modversions` -> `6.1.0-47-amd64`. */
export const vermagicRelease = (vermagic: string | undefined): string | undefined =>
  vermagic?.trim().split(/\s+/)[0] || undefined;
