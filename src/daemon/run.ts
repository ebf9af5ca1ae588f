import { runningKernel } from '../kernel/kernels.js';
import type { DaemonConfig } from './config/daemonConfig.js';
import { resolveInhibit, resolveInitramfs, resolveUdev, which } from './finish/finishCommands.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import { takeListenFds, unixSocketPath } from './systemd/listenFds.js';
import { passedListeners, type ListenerSpec } from './server/socketRights.js';

/**
 * The sockets systemd passed (socket activation: dkmsd.socket and dkmsd-status.socket), else
 * the configured control and status sockets, which dkmsd binds itself.
 */
function listenersFor(config: DaemonConfig): ListenerSpec[] {
  const configured = { control: config.socket, status: config.statusSocket };
  const passed = takeListenFds();
  if (passed.length > 0) return passedListeners(passed, configured, unixSocketPath);
  return [
    { rights: 'control', path: configured.control },
    { rights: 'status', path: configured.status },
  ];
}
import { SdNotifier } from './systemd/sdNotify.js';

/**
 * `dkmsd run`: starts the daemon and resolves with the exit status once it has stopped
 * (SIGTERM/SIGINT: 0; a failure to start: 1).
 */
export async function runDaemon(config: DaemonConfig): Promise<number> {
  const logger = createLogger(config.logLevel, config.logFormat);
  const notifier = new SdNotifier(logger);
  const daemon = new Daemon(config, logger, notifier, {
    runningKernel: runningKernel(),
    listeners: listenersFor(config),
    initramfs: resolveInitramfs(
      config.initramfsCommand,
      (name) => which(name),
      config.paths.bootDir,
    ),
    udev: resolveUdev(config.udevCommand, (name) => which(name)),
    inhibit: resolveInhibit(config.inhibitCommand, (name) => which(name)),
  });
  let stopRequested: (signal: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  process.once('SIGTERM', () => stopRequested('SIGTERM'));
  process.once('SIGINT', () => stopRequested('SIGINT'));
  process.on('SIGPIPE', () => undefined);
  // A bug, not a bad request (those never throw out of the server): log it and let
  // systemd restart the service.
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) =>
    logger.error({ err: reason }, 'unhandled promise rejection'),
  );
  try {
    await daemon.start();
  } catch (error) {
    logger.fatal({ err: error }, 'dkmsd could not start');
    await daemon.stop('start failed');
    return 1;
  }
  await daemon.stop(await stopSignal);
  return 0;
}
