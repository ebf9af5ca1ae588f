/**
 * Which configuration files are only plain assignments: `NAME="text $var ${var}"` lines and
 * comments, nothing that runs a command, reads a file, expands a glob or a tilde, or touches
 * the shell's own variables. What bash makes of such a file depends on its text and on the
 * values of the variables it reads, nothing else, so bash's result can be kept and reused
 * (src/core/evalCache.ts). Most dkms.conf files are like that. This never evaluates anything:
 * bash does; a file it cannot prove plain is simply evaluated every time.
 */

/** What a plain file does. */
export interface PlainFile {
  /** The names it assigns. */
  assigned: ReadonlySet<string>;
  /** The names it reads before assigning them: its inputs. */
  reads: ReadonlySet<string>;
}

// bash's own variables and the ones that change how it behaves: never assigned by a plain file
const SHELL_NAMES = new Set([
  'CDPATH', 'COLUMNS', 'COPROC', 'DIRSTACK', 'EMACS', 'ENV', 'EPOCHREALTIME', 'EPOCHSECONDS',
  'EUID', 'EXECIGNORE', 'FCEDIT', 'FIGNORE', 'FUNCNAME', 'GLOBIGNORE', 'GROUPS', 'HOME',
  'HOSTFILE', 'HOSTNAME', 'HOSTTYPE', 'IFS', 'IGNOREEOF', 'INPUTRC', 'INSIDE_EMACS', 'LANG',
  'LINENO', 'LINES', 'MACHTYPE', 'MAIL', 'MAILCHECK', 'MAILPATH', 'OLDPWD', 'OPTARG', 'OPTERR',
  'OPTIND', 'OSTYPE', 'PATH', 'PIPESTATUS', 'POSIXLY_CORRECT', 'PPID', 'PROMPT_COMMAND',
  'PROMPT_DIRTRIM', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'PWD', 'RANDOM', 'REPLY', 'SECONDS',
  'SHELL', 'SHELLOPTS', 'SHLVL', 'SRANDOM', 'TERM', 'TIMEFORMAT', 'TMOUT', 'TMPDIR', 'UID',
]); // prettier-ignore
const SHELL_PREFIXES = /^(BASH|COMP_|HIST|LC_|READLINE_)/;
const SHELL_LOWER = new Set(['auto_resume', 'histchars']);

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const INDEX = /\[[0-9]+\]/y;
// characters a word may hold unquoted: no globs, tildes, braces, quotes, operators, `#`, `$`
const BARE = /[A-Za-z0-9_./:,+@%=^-]/;

/**
 * A name a plain file may assign: not one of bash's, and not starting with `_` (the evaluating
 * script's own names are `__dkms_*`). framework.conf's names are lower case.
 */
export function assignable(name: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9_]*$/.test(name) &&
    !SHELL_NAMES.has(name) &&
    !SHELL_PREFIXES.test(name) &&
    !SHELL_LOWER.has(name)
  );
}

/** The file's assignments and reads, or undefined when it is not only plain assignments. */
export function scanPlainFile(text: string): PlainFile | undefined {
  if (/[\r\0]/.test(text)) return undefined;
  const assigned = new Set<string>();
  const reads = new Set<string>();
  let i = 0;

  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const found = pattern.exec(text)?.[0];
    if (found !== undefined) i += found.length;
    return found;
  };
  // `$NAME`, `${NAME}` or `${NAME[N]}` at i (on the `$`): the name, or undefined
  const parameter = (): boolean => {
    i++;
    const braced = text[i] === '{';
    if (braced) i++;
    const name = match(NAME);
    if (name === undefined) return false;
    if (braced) {
      match(INDEX);
      if (text[i++] !== '}') return false;
    }
    if (!assigned.has(name)) reads.add(name);
    return true;
  };
  const doubleQuoted = (): boolean => {
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (c === '`') return false;
      if (c === '\\') i += 2;
      else if (c === '$') {
        if (!parameter()) return false;
      } else i++;
    }
    return false;
  };
  const value = (): boolean => {
    while (i < text.length) {
      const c = text[i] as string;
      if (c === ' ' || c === '\t' || c === '\n' || c === ';') return true;
      if (c === '"') {
        if (!doubleQuoted()) return false;
      } else if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) return false;
        i = end + 1;
      } else if (c === '$') {
        if (!parameter()) return false;
      } else if (BARE.test(c)) i++;
      else return false;
    }
    return true;
  };
  const skipBlanks = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const skipComment = (): void => {
    const end = text.indexOf('\n', i);
    i = end < 0 ? text.length : end;
  };

  // statements: one or more assignments, then a newline, `;` or a comment
  while (i < text.length) {
    skipBlanks();
    if (text[i] === '\n') {
      i++;
      continue;
    }
    if (text[i] === '#') {
      skipComment();
      continue;
    }
    if (i >= text.length) break;
    for (;;) {
      const name = match(NAME);
      if (name === undefined || !assignable(name)) return undefined;
      match(INDEX);
      if (text[i] === '+') i++;
      if (text[i++] !== '=') return undefined;
      if (!value()) return undefined;
      assigned.add(name);
      const before = i;
      skipBlanks();
      if (i >= text.length || text[i] === '\n') break;
      if (text[i] === ';') {
        i++;
        break;
      }
      if (text[i] === '#' && i > before) {
        skipComment();
        break;
      }
      if (i === before) return undefined;
    }
  }
  return { assigned, reads };
}

/**
 * The inputs of files sourced one after the other, or undefined when one is not plain or reads
 * a name that is neither given (`inputs`) nor assigned by an earlier file.
 */
export function plainInputs(
  files: readonly (PlainFile | undefined)[],
  inputs: ReadonlySet<string>,
): string[] | undefined {
  const known = new Set<string>();
  const used = new Set<string>();
  for (const file of files) {
    if (!file) return undefined;
    for (const name of file.reads) {
      if (known.has(name)) continue;
      if (!inputs.has(name)) return undefined;
      used.add(name);
    }
    for (const name of file.assigned) known.add(name);
  }
  return [...used].sort();
}
