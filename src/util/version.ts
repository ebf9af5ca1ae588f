/**
 * Version ordering as GNU `sort -V` does it (what dkms uses for kernel releases and module
 * versions): digit runs compare as numbers, other runs as text, `~` sorts before anything.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return y?.startsWith('~') ? 1 : -1;
    if (y === undefined) return x.startsWith('~') ? -1 : 1;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const diff = BigInt(x) - BigInt(y);
      if (diff !== 0n) return diff < 0n ? -1 : 1;
    } else if (dx !== dy) {
      return dx ? 1 : -1;
    } else if (x !== y) {
      return compareText(x, y);
    }
  }
  return 0;
}

function order(c: string): number {
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareText(x: string, y: string): number {
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const cx = x[i];
    const cy = y[i];
    const ox = cx === undefined ? 0 : order(cx);
    const oy = cy === undefined ? 0 : order(cy);
    if (ox !== oy) return ox < oy ? -1 : 1;
  }
  return 0;
}

const posixClasses: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
};

/**
 * `[[ text =~ pattern ]]` as bash evaluates it: an unanchored POSIX extended regex. POSIX
 * bracket classes are translated; a pattern bash would reject matches nothing.
 */
export function bashRegexMatch(pattern: string, text: string): boolean {
  const translated = pattern.replace(
    /\[:(\w+):\]/g,
    (whole, name: string) => posixClasses[name] ?? whole,
  );
  try {
    return new RegExp(translated).test(text);
  } catch {
    return false;
  }
}
