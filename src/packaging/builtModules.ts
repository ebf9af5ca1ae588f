import { readdirSync } from 'node:fs';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { byteOrder, type ModuleVersionRef } from '../core/stateTree.js';
import type { KernelArch } from './names.js';
import type { BuiltTarget } from './tarballPlan.js';

/** The module must be added (its source link resolves) before anything is packaged. */
export function requireAdded(ctx: DkmsContext, ref: ModuleVersionRef): void {
  if (ctx.tree.isAdded(ref)) return;
  throw new DkmsError(
    'NOT_ADDED',
    `The module/version combo: ${ref.module}/${ref.version} is not located in the DKMS tree.`,
    { hint: `Add it first: dkms add ${ref.module}/${ref.version}` },
  );
}

/** Each kernel's build directory; a kernel the module is not built for is an error naming the fix. */
export function builtTargets(
  ctx: DkmsContext,
  ref: ModuleVersionRef,
  targets: readonly KernelArch[],
  action: string,
): BuiltTarget[] {
  return targets.map((target) => {
    const build = { ...ref, ...target };
    if (!ctx.tree.isBuilt(build)) {
      throw new DkmsError(
        'NOT_BUILT',
        `No modules built for ${target.kernel} (${target.arch}).\nModules must already be in the built state before using ${action}.`,
        {
          hint: `Build them first: dkms build ${ref.module}/${ref.version} -k ${target.kernel}/${target.arch}`,
        },
      );
    }
    return { ...target, buildDir: ctx.tree.buildDir(build) };
  });
}

/** The module files of one build (`<kver>/<arch>/module/*`), sorted. */
export function builtModuleFiles(ctx: DkmsContext, build: ModuleVersionRef & KernelArch): string[] {
  try {
    return readdirSync(ctx.tree.builtModuleDir(build))
      .filter((name) => /\.ko(\.xz|\.zst|\.gz)?$/.test(name))
      .sort(byteOrder);
  } catch {
    return [];
  }
}
