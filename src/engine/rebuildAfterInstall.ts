import type { DkmsContext } from '../core/context.js';
import { buildModule } from './build.js';
import { dependentsToRebuild, needsRebuild } from './dependencyRebuild.js';
import { installModule } from './install.js';
import { withModuleSession } from './recovery.js';
import { unbuildOne, uninstallOne } from './remove.js';

/**
 * What dkms 3.4's do_install ends with (check_and_rebuild_dependent_modules, not with
 * --force): each module built for the kernel with BUILD_DEPENDS_REBUILD whose dependencies
 * changed is uninstalled (dkms's do_uninstall, speaking for an inactive version too),
 * unbuilt, built and installed again, under its own module lock, checked again once the lock
 * is held (another job may have rebuilt it meanwhile). `depmod`: those installs print and
 * run depmod, as the install that triggered them does. A failed rebuild fails the command.
 */
export async function rebuildUpdatedDependents(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
  options: { force: boolean; depmod: boolean },
): Promise<void> {
  if (options.force) return;
  for (const dependent of await dependentsToRebuild(ctx, kernel, arch)) {
    await withModuleSession(ctx, dependent.module, async () => {
      if (!(await needsRebuild(ctx, dependent))) return;
      ctx.reporter.info(
        `\nRebuilding module ${dependent.module}/${dependent.version} due to updated dependencies\n`,
      );
      await uninstallOne(ctx, dependent, { direct: true, depmod: options.depmod });
      await unbuildOne(ctx, dependent, { uninstall: false });
      await buildModule(ctx, dependent);
      await installModule(ctx, dependent, { depmod: options.depmod });
    });
  }
}
