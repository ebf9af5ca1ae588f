import { statSync } from 'node:fs';

/**
 * Mutating requests are taken only while the socket file is reachable by dkmsd's own user
 * alone (mode 0600): node cannot read a peer's credentials, the file mode is the lock.
 * Returns why not, or undefined when they are allowed.
 */
export function mutatingRefusal(
  socketPath: string,
  uid: number | undefined = process.getuid?.(),
): string | undefined {
  let st;
  try {
    st = statSync(socketPath);
  } catch {
    return `the socket ${socketPath} is gone, so its permissions cannot be checked`;
  }
  if ((st.mode & 0o077) !== 0) {
    return `the socket ${socketPath} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; requests that build or remove modules need mode 0600`;
  }
  if (uid !== undefined && st.uid !== uid)
    return `the socket ${socketPath} belongs to uid ${st.uid}, not to dkmsd (uid ${uid})`;
  return undefined;
}
