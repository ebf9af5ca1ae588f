/** One member of a tar archive, as `tar -tv` describes it. */
export interface ArchiveMember {
  name: string;
  /** The first character of tar's mode column: `-` file, `d` dir, `l` symlink, `h` hard link... */
  type: string;
  /** Symlink target or hard-link source. */
  linkTarget?: string;
}

const VERBOSE = /^(\S)\S*\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/;

/**
 * Pairs `tar -tP` names with `tar -tvP` lines (same order). Knowing each name exactly is
 * what makes ` -> ` inside names and targets unambiguous.
 */
export function parseTarListing(names: string, verbose: string): ArchiveMember[] | undefined {
  const nameLines = names.split('\n').filter((line) => line !== '');
  const verboseLines = verbose.split('\n').filter((line) => line !== '');
  if (nameLines.length !== verboseLines.length) return undefined;
  const members: ArchiveMember[] = [];
  for (const [i, name] of nameLines.entries()) {
    const match = VERBOSE.exec(verboseLines[i] ?? '');
    const type = match?.[1];
    const rest = match?.[2];
    if (!type || rest === undefined || !rest.startsWith(name)) return undefined;
    const tail = rest.slice(name.length);
    const member: ArchiveMember = { name, type };
    if (type === 'l' && tail.startsWith(' -> ')) member.linkTarget = tail.slice(4);
    else if (type === 'h' && tail.startsWith(' link to ')) member.linkTarget = tail.slice(9);
    members.push(member);
  }
  return members;
}

const components = (path: string): string[] =>
  path.split('/').filter((part) => part !== '' && part !== '.');

/**
 * Walks `path` from the directory `from` (components below the extraction root), following
 * the archive's own symlinks, and returns where it ends, or undefined when it leaves the root.
 */
function resolveInside(
  from: readonly string[],
  path: string,
  links: ReadonlyMap<string, string>,
  depth = 0,
): string[] | undefined {
  if (depth > 40 || path.startsWith('/')) return undefined;
  let current = [...from];
  for (const part of components(path)) {
    if (part === '..') {
      if (current.length === 0) return undefined;
      current.pop();
      continue;
    }
    const link = links.get([...current, part].join('/'));
    if (link === undefined) {
      current.push(part);
      continue;
    }
    const resolved = resolveInside(current, link, links, depth + 1);
    if (!resolved) return undefined;
    current = resolved;
  }
  return current;
}

/**
 * Why extracting these members could write or point outside the extraction directory (or
 * create something a module source never needs), one line per bad member; empty when safe.
 */
export function unsafeMembers(members: readonly ArchiveMember[]): string[] {
  const links = new Map<string, string>();
  for (const member of members) {
    if (member.type === 'l') links.set(components(member.name).join('/'), member.linkTarget ?? '');
  }
  const reasons: string[] = [];
  for (const member of members) {
    const parts = components(member.name);
    const reason = ((): string | undefined => {
      if (member.name.startsWith('/')) return 'it is an absolute path';
      if (parts.includes('..')) return "it contains '..'";
      if (!resolveInside([], parts.slice(0, -1).join('/'), links))
        return 'its directory is a symlink leading outside the archive';
      switch (member.type) {
        case '-':
        case 'd':
          return undefined;
        case 'l':
          return resolveInside(parts.slice(0, -1), member.linkTarget ?? '', links)
            ? undefined
            : `it is a symlink leading outside the archive (-> ${member.linkTarget ?? ''})`;
        case 'h': {
          const target = member.linkTarget ?? '';
          return target.startsWith('/') ||
            components(target).includes('..') ||
            !resolveInside([], target, links)
            ? `it is a hard link to ${target}, outside the archive`
            : undefined;
        }
        default:
          return `it is a special file (type '${member.type}')`;
      }
    })();
    if (reason) reasons.push(`${member.name}: ${reason}`);
  }
  return reasons;
}
