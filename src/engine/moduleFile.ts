import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { BuildRef } from '../tree/stateTree.js';
import type { DkmsContext } from './context.js';
import { runTool } from './exec.js';

export interface BuiltModule {
  name: string;
  builtFile: string;
  destName: string;
  strip: boolean;
}

/**
 * Turns a freshly built .ko into what is stored in the tree's module/ directory, in dkms's
 * order: strip, sign, compress. Returns the stored file.
 */
export async function finishModule(
  ctx: DkmsContext,
  ref: BuildRef,
  module: BuiltModule,
  moduleDir: string,
): Promise<string> {
  if (module.strip) {
    const result = await runTool('strip', ['-g', module.builtFile]);
    if (result.exitCode !== 0) {
      throw new DkmsError(
        'BUILD_FAILED',
        `strip -g ${module.builtFile} failed: ${result.stderr.trim()}`,
      );
    }
  }
  const stored = join(moduleDir, `${module.destName}.ko`);
  copyFileSync(module.builtFile, stored);
  ctx.reporter.verbose(`Stored ${stored} for ${ref.kernel}`);
  return stored;
}
