import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLEAN_PATH } from '../../core/bashEval.js';
import type { CommandSetting } from '../config/daemonConfig.js';

/** A command run once per finished kernel; `argv` is undefined when it cannot run for that kernel. */
export interface FinishCommand {
  display: string;
  argv(kernel: string): string[] | undefined;
}

/** The executable `name` on PATH, if any. */
export function which(
  name: string,
  pathVar: string = process.env['PATH'] || CLEAN_PATH,
): string | undefined {
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A configured command line: run by sh, the kernel release as its last argument. */
export const shellCommand = (command: string): FinishCommand => ({
  display: command,
  argv: (kernel) => ['/bin/sh', '-c', `${command} "$1"`, 'dkmsd', kernel],
});

/** The initramfs tool of this system: initramfs-tools, dracut, or systemd's kernel-install. */
export function detectInitramfs(
  find: (name: string) => string | undefined,
  bootDir: string,
): FinishCommand | undefined {
  if (find('update-initramfs'))
    return {
      display: 'update-initramfs -u -k',
      argv: (kernel) => ['update-initramfs', '-u', '-k', kernel],
    };
  if (find('dracut'))
    return {
      display: 'dracut --force --kver',
      argv: (kernel) => ['dracut', '--force', '--kver', kernel],
    };
  if (find('kernel-install')) {
    return {
      display: 'kernel-install add',
      // kernel-install needs the kernel image; without one there is no initramfs to make
      argv: (kernel) => {
        const image = join(bootDir, `vmlinuz-${kernel}`);
        return existsSync(image) ? ['kernel-install', 'add', kernel, image] : undefined;
      },
    };
  }
  return undefined;
}

/**
 * The configured initramfs command, or the system's tool looked up again at each kernel: it
 * often arrives with the first kernel package, after dkmsd started.
 */
export function resolveInitramfs(
  setting: CommandSetting,
  find: (name: string) => string | undefined,
  bootDir: string,
): FinishCommand | undefined {
  if (setting.kind === 'disabled') return undefined;
  if (setting.kind === 'shell') return shellCommand(setting.command);
  return {
    get display() {
      return detectInitramfs(find, bootDir)?.display ?? 'none found yet';
    },
    argv: (kernel) => detectInitramfs(find, bootDir)?.argv(kernel),
  };
}

/** udev: the built-in `udevadm trigger` takes no kernel release; a configured command does. */
export function resolveUdev(
  setting: CommandSetting,
  find: (name: string) => string | undefined,
): FinishCommand | undefined {
  if (setting.kind === 'disabled') return undefined;
  if (setting.kind === 'shell') return shellCommand(setting.command);
  return find('udevadm')
    ? { display: 'udevadm trigger', argv: () => ['udevadm', 'trigger'] }
    : undefined;
}

/** The systemd-inhibit program: the configured one, else systemd's when systemd runs the system. */
export function resolveInhibit(
  setting: CommandSetting,
  find: (name: string) => string | undefined,
  systemdDir = '/run/systemd/system',
): string | undefined {
  if (setting.kind === 'disabled') return undefined;
  if (setting.kind === 'shell') return setting.command;
  return existsSync(systemdDir) ? find('systemd-inhibit') : undefined;
}
