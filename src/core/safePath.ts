import { isAbsolute, join, relative, sep } from 'node:path';
import { DkmsError } from './errors.js';
import { relativePathProblem } from '../util/names.js';

/** Whether `child` is strictly below `parent` (lexically: neither is resolved on disk). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** One path component: not empty, `.` or `..`, without `/` or NUL. */
export const isComponent = (value: string): boolean =>
  value !== '' && value !== '.' && value !== '..' && !value.includes('/') && !value.includes('\0');

const badPath = (message: string): DkmsError =>
  new DkmsError('BAD_PATH', message, {
    hint: 'Names and locations may not lead outside the DKMS, source and install trees.',
  });

/**
 * `root/part/...` where each part must be one path component: every path the trees build
 * from a name (module, version, kernel, arch) goes through here, so no name leads outside.
 */
export function joinUnder(root: string, ...parts: string[]): string {
  assertComponents(root, ...parts);
  return join(root, ...parts);
}

/** BAD_PATH unless every part is one path component (names that become part of a file name). */
export function assertComponents(root: string, ...parts: string[]): void {
  for (const part of parts) {
    if (!isComponent(part)) throw badPath(`Refusing the path component '${part}' under ${root}.`);
  }
}

/**
 * `root/relativePath` for a location a dkms.conf gives (BUILT_MODULE_LOCATION, PATCH,
 * DEST_MODULE_LOCATION): refused unless it stays below (or at) root.
 */
export function resolveUnder(root: string, relativePath: string, what: string): string {
  const path = join(root, relativePath);
  const problem = relativePathProblem(relativePath);
  if (problem !== undefined || (path !== join(root) && !isInside(root, path))) {
    throw badPath(
      `${what} '${relativePath}' leads outside ${root}${problem ? `: ${problem}` : ''}.`,
    );
  }
  return path;
}
