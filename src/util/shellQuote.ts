/** One word for bash (and any POSIX sh): single-quoted, embedded quotes escaped. */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** Words joined into one shell command line, each quoted. */
export const shellLine = (words: readonly string[]): string => words.map(shellQuote).join(' ');
