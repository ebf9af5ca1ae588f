const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const TILDE = 0x7e;
const DOT = 0x2e;

/** Length of `s` without its file suffix, the longest match of `(\.[A-Za-z~][A-Za-z0-9~]*)*$`. */
function prefixLength(s: Uint8Array): number {
  let prefix = 0;
  for (let i = 0; i < s.length;) {
    i++;
    prefix = i;
    while (i + 1 < s.length && s[i] === DOT && (isAlpha(s[i + 1] ?? 0) || s[i + 1] === TILDE)) {
      for (
        i += 2;
        i < s.length && (isAlpha(s[i] ?? 0) || isDigit(s[i] ?? 0) || s[i] === TILDE);
        i++
      );
    }
  }
  return prefix;
}

/** Weight of the byte at `pos`: the end sorts before anything but `~`, letters before other bytes. */
function order(s: Uint8Array, pos: number, length: number): number {
  if (pos === length) return -1;
  const c = s[pos] ?? 0;
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === TILDE) return -2;
  return c + 256;
}

/** dpkg's verrevcmp as gnulib adapts it: alternating non-digit and digit runs. */
function verrevcmp(a: Uint8Array, aLength: number, b: Uint8Array, bLength: number): number {
  let i = 0;
  let j = 0;
  while (i < aLength || j < bLength) {
    let firstDiff = 0;
    while ((i < aLength && !isDigit(a[i] ?? 0)) || (j < bLength && !isDigit(b[j] ?? 0))) {
      const x = order(a, i, aLength);
      const y = order(b, j, bLength);
      if (x !== y) return x - y;
      i++;
      j++;
    }
    while (i < aLength && a[i] === 0x30) i++;
    while (j < bLength && b[j] === 0x30) j++;
    while (i < aLength && j < bLength && isDigit(a[i] ?? 0) && isDigit(b[j] ?? 0)) {
      if (!firstDiff) firstDiff = (a[i] ?? 0) - (b[j] ?? 0);
      i++;
      j++;
    }
    if (i < aLength && isDigit(a[i] ?? 0)) return 1;
    if (j < bLength && isDigit(b[j] ?? 0)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/**
 * gnulib's filevercmp, the comparison behind `sort -V` (coreutils 9): "." and ".." and other
 * dot-names first, file suffixes such as `.tar.gz` compared only to break ties, `~` before
 * everything, letters before other punctuation, digit runs as numbers. 0 for equivalent
 * strings that differ (1.01 and 1.1).
 */
export function filevercmp(first: string, second: string): number {
  const a = Buffer.from(first);
  const b = Buffer.from(second);
  if (a.length === 0) return b.length === 0 ? 0 : -1;
  if (b.length === 0) return 1;
  if (a[0] === DOT) {
    if (b[0] !== DOT) return -1;
    const aDot = a.length === 1;
    const bDot = b.length === 1;
    if (aDot) return bDot ? 0 : -1;
    if (bDot) return 1;
    const aDotDot = a[1] === DOT && a.length === 2;
    const bDotDot = b[1] === DOT && b.length === 2;
    if (aDotDot) return bDotDot ? 0 : -1;
    if (bDotDot) return 1;
  } else if (b[0] === DOT) {
    return 1;
  }
  const aPrefix = prefixLength(a);
  const bPrefix = prefixLength(b);
  const result = verrevcmp(a, aPrefix, b, bPrefix);
  if (result || (aPrefix === a.length && bPrefix === b.length)) return Math.sign(result);
  return Math.sign(verrevcmp(a, a.length, b, b.length));
}

/** Byte-wise order of UTF-8 strings, as the C locale compares. */
const byteCompare = (a: string, b: string): number =>
  Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));

/**
 * The order of `LC_ALL=C sort -V` (upstream sorts `--all` builds and BUILD_DEPENDS_REBUILD
 * versions with it): filevercmp, then bytes for equivalent strings. -1, 0 or 1.
 */
export const compareVersions = (a: string, b: string): number =>
  filevercmp(a, b) || byteCompare(a, b);

/**
 * dkms's VER(): every number padded to at least three digits, so that the result compares
 * as a string (2.6.9-1cvs2004 -> 002.006.009-001cvs2004). The same sed steps, in order.
 */
export const ver = (value: string): string =>
  ` ${value.replace(/([^0-9])([0-9])/g, '$1 $2').replace(/([0-9])([^0-9])/g, '$1 $2')} `
    .replace(/ ([0-9]) /g, ' 00$1 ')
    .replace(/ ([0-9][0-9]) /g, ' 0$1 ')
    .replace(/ /g, '');

/**
 * `[[ "$(VER a)" > "$(VER b)" ]]` as upstream compares kernel releases against
 * BUILD_EXCLUSIVE_KERNEL_MIN/MAX, module versions in autoinstall and check_version_sanity
 * (byte order, as in the C locale). -1, 0 or 1.
 */
export const compareVer = (a: string, b: string): number => byteCompare(ver(a), ver(b));

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
