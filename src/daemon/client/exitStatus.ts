import type { ClientResult } from './client.js';

/** The exit statuses of `dkmsd notify` / `dkmsd status`; the hooks rely on them. */
export const EXIT = {
  /** Accepted; with --wait: finished and everything went well. */
  ok: 0,
  /** The daemon reported failures (or refused the request). */
  failed: 1,
  usage: 2,
  /** No daemon to talk to: the caller runs dkms itself. */
  noDaemon: 3,
} as const;

/** Decided here and nowhere else. */
export function exitStatusFor(result: ClientResult): number {
  if (result.kind === 'unreachable' || result.kind === 'closed') return EXIT.noDaemon;
  if (result.kind !== 'reply') return EXIT.failed;
  const { response } = result;
  switch (response.type) {
    case 'accepted':
    case 'status':
      return EXIT.ok;
    case 'removed':
      return response.outcome.result === 'ok' ? EXIT.ok : EXIT.failed;
    case 'finished':
      // Work cancelled because dkmsd stopped was not done: the caller should do it.
      if (response.kernels.some((kernel) => kernel.result === 'aborted')) return EXIT.noDaemon;
      return response.kernels.every((kernel) => kernel.result === 'ok') ? EXIT.ok : EXIT.failed;
    case 'error':
      // not taken at all (stopping, every slot busy, closed before it arrived): do it yourself
      if (['SHUTTING_DOWN', 'BUSY', 'IDLE_TIMEOUT'].includes(response.code)) return EXIT.noDaemon;
      if (response.code === 'BAD_REQUEST' || response.code === 'BAD_JSON') return EXIT.usage;
      return EXIT.failed;
  }
}
