/**
 * Parses what `declare -p NAME...` prints (bash 4.4+): scalars as `declare -- X="v"`, arrays
 * as `declare -a X=([0]="a" [3]="b")`, with double-quoted or `$'...'` (ANSI-C) values.
 * Returns every variable as a sparse array (a scalar is index 0).
 */
export function parseDeclareOutput(text: string): Map<string, Map<number, string>> {
  const result = new Map<string, Map<number, string>>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
  };
  const readWord = (stop: RegExp): string => {
    const start = i;
    while (i < text.length && !stop.test(text.charAt(i))) i++;
    return text.slice(start, i);
  };
  const readValue = (): string => {
    if (text.startsWith("$'", i)) {
      i += 2;
      return readAnsiC();
    }
    if (text.charAt(i) === '"') {
      i++;
      let out = '';
      while (i < text.length && text.charAt(i) !== '"') {
        const c = text.charAt(i);
        if (c === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text.charAt(i + 1))) {
          out += text.charAt(i + 1);
          i += 2;
        } else {
          out += c;
          i++;
        }
      }
      i++;
      return out;
    }
    if (text.charAt(i) === "'") {
      i++;
      const start = i;
      while (i < text.length && text.charAt(i) !== "'") i++;
      return text.slice(start, i++);
    }
    return readWord(/[\s)]/);
  };
  const readAnsiC = (): string => {
    let out = '';
    while (i < text.length && text.charAt(i) !== "'") {
      const c = text.charAt(i);
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text.charAt(i + 1);
      i += 2;
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        a: '\x07',
        b: '\b',
        e: '\x1b',
        E: '\x1b',
        f: '\f',
        v: '\v',
        '\\': '\\',
        "'": "'",
        '"': '"',
        '?': '?',
      };
      if (e in simple) {
        out += simple[e];
      } else if (/[0-7]/.test(e)) {
        let digits = e;
        while (digits.length < 3 && /[0-7]/.test(text.charAt(i))) digits += text.charAt(i++);
        out += String.fromCharCode(parseInt(digits, 8));
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const max = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        let digits = '';
        while (digits.length < max && /[0-9a-fA-F]/.test(text.charAt(i)))
          digits += text.charAt(i++);
        out += digits ? String.fromCodePoint(parseInt(digits, 16)) : `\\${e}`;
      } else if (e === 'c') {
        out += String.fromCharCode(text.charCodeAt(i++) & 0x1f);
      } else {
        out += `\\${e}`;
      }
    }
    i++;
    return out;
  };
  for (;;) {
    skipSpace();
    if (i >= text.length) break;
    if (!text.startsWith('declare', i)) {
      readWord(/\n/);
      continue;
    }
    i += 'declare'.length;
    skipSpace();
    const flags = readWord(/\s/);
    skipSpace();
    const name = readWord(/[=\s]/);
    const values = new Map<number, string>();
    if (text.charAt(i) === '=') {
      i++;
      if (text.charAt(i) === '(' && /a|A/.test(flags)) {
        i++;
        for (;;) {
          skipSpace();
          if (i >= text.length || text.charAt(i) === ')') {
            i++;
            break;
          }
          if (text.charAt(i) !== '[') {
            readValue();
            continue;
          }
          i++;
          let key = readWord(/]/);
          i++;
          if (key.startsWith('"')) key = key.slice(1, -1);
          if (text.charAt(i) === '=') i++;
          const value = readValue();
          const index = Number(key);
          if (Number.isInteger(index) && index >= 0) values.set(index, value);
        }
      } else {
        values.set(0, readValue());
      }
    }
    if (name && values.size > 0) result.set(name, values);
  }
  return result;
}
