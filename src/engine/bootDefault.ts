import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';
import { which } from '../sign/signingInputs.js';

/*
 * systemd-boot (and any boot loader implementing the Boot Loader Interface) boots the newest
 * entry unless the LoaderEntryDefault EFI variable names another. While a new kernel is not
 * ready, dkms sets that variable to the running kernel's entry (`bootctl set-default
 * @current`) and removes it again (`bootctl set-default ""`) once the kernel is ready. An
 * administrator's own default is never touched: with one set, nothing is done.
 */

/** The Boot Loader Interface's vendor GUID (LoaderEntryDefault-<guid>). */
const LOADER_GUID = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

const bootctl = (): string | undefined => process.env['DKMS_BOOTCTL'] || which('bootctl');
const efiDir = (): string => process.env['DKMS_EFI_DIR'] || '/sys/firmware/efi';

/** Keeps the running kernel's entry the default; true when dkms set it. */
export async function holdBootDefault(ctx: DkmsContext, kernel: string): Promise<boolean> {
  const tool = bootctl();
  if (!tool) return false;
  if ((await runTool(tool, ['is-installed'])).exitCode !== 0) return false;
  if (existsSync(join(efiDir(), 'efivars', `LoaderEntryDefault-${LOADER_GUID}`))) return false;
  const result = await runTool(tool, ['set-default', '@current']);
  if (result.exitCode !== 0) {
    ctx.reporter.warn(
      `Could not keep the boot default on the running kernel while ${kernel} is not ready: ${result.stderr.trim()}`,
    );
    return false;
  }
  ctx.reporter.warn(
    `Kernel ${kernel} is not ready (DKMS modules missing): the boot loader keeps starting the running kernel by default until it is (bootctl set-default @current; undone when ${kernel} is ready).`,
  );
  return true;
}

/** Gives the default back to the boot loader (newest entry first). */
export async function releaseBootDefault(ctx: DkmsContext, kernel: string): Promise<void> {
  const tool = bootctl();
  if (!tool) return;
  const result = await runTool(tool, ['set-default', '']);
  if (result.exitCode === 0)
    ctx.reporter.info(
      `Kernel ${kernel} is ready: the boot loader's default entry is its own again.`,
    );
  else
    ctx.reporter.warn(
      `Could not give the boot default back (bootctl set-default ""): ${result.stderr.trim()}`,
    );
}
