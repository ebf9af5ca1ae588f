import { DkmsError } from '../core/errors.js';
import type { ModuleVersionRef } from '../tree/stateTree.js';
import type { DkmsContext } from './context.js';

/** Loads a DKMS tarball (mktarball's format, or any tarball with a dkms.conf). */
export function loadTarball(
  _ctx: DkmsContext,
  archive: string,
  _options: { force: boolean },
): Promise<ModuleVersionRef | undefined> {
  return Promise.reject(
    new DkmsError('TARBALL', `Loading tarballs is not supported yet: ${archive}`),
  );
}
