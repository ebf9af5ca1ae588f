/**
 * One word for sh or bash, single-quoted: `it's` becomes `'it'\''s'`. NUL cannot travel in
 * an argument or a script, so it is dropped.
 */
export const shellQuote = (word: string): string =>
  `'${word.replace(/\0/g, '').replace(/'/g, `'\\''`)}'`;
