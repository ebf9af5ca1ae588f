export const DAEMON_USAGE = `Usage: dkmsd COMMAND [options]
  dkmsd run [--config FILE]
  dkmsd notify kernel-added KERNEL [--wait] [--timeout S] [--retry-failed] [--socket PATH]
  dkmsd notify kernel-removed KERNEL [--socket PATH]
  dkmsd notify module-added MODULE VERSION [--wait] [--timeout S] [--socket PATH]
  dkmsd notify rescan [--wait] [--timeout S] [--retry-failed] [--socket PATH]
  dkmsd status [--json] [--socket PATH]
  dkmsd help [COMMAND]

dkmsd builds and installs DKMS modules for kernels as they appear. notify talks to the
control socket /run/dkms/dkmsd.sock (root only; DKMSD_SOCKET), status to the status socket
beside it, dkmsd-status.sock (anyone; DKMSD_STATUS_SOCKET); --socket names another.
Exit status of notify and status: 0 done, 1 the daemon reported failures,
2 usage error, 3 no daemon reachable (run dkms yourself).`;

const TOPICS: Record<string, string> = {
  run: `Usage: dkmsd run [--config FILE]
Runs the daemon in the foreground (systemd: Type=notify, socket activation through
LISTEN_FDS). Logs go to stdout: under systemd (JOURNAL_STREAM) one line per event with a
syslog priority, so journalctl -u dkmsd -p err lists failed builds; JSON lines elsewhere
(log_format = json|journal|auto).

On start it builds what is missing for the running kernel and every kernel with headers
(autoinstall_all_kernels), then watches the install tree and the source tree: a kernel whose
<install_tree>/KERNEL/build/Makefile appears gets its AUTOINSTALL modules built, in parallel,
followed by what the finish ledger says the kernel is owed (depmod, the initramfs command,
udev); a kernel directory that disappears has its modules removed from the dkms tree.
SIGTERM cancels builds, waits for a running finish step (stop_timeout) and exits.

  --config FILE   dkmsd.conf (default /etc/dkms/dkmsd.conf when it exists). Keys:
                  dkms_tree source_tree install_tree conf_dir socket status_socket
                  concurrency make_jobs
                  debounce_ms initramfs_command udev_command log_level log_format
                  autoinstall_all_kernels state_file stop_timeout; see docs/daemon.md.`,
  notify: `Usage: dkmsd notify EVENT ARGS [options]
Tells a running dkmsd about an event. Events:
  kernel-added KERNEL        build every AUTOINSTALL module for KERNEL
  kernel-removed KERNEL      remove every module built for KERNEL (what kernel_prerm does)
  module-added MODULE VERSION  build an added module for every kernel with headers
  rescan                     plan every kernel again (after module packages changed)
Options:
  --wait          answer only when the kernels are finished, with per-module results
  --timeout S     give up waiting after S seconds (default 1800 with --wait, else 60)
  --retry-failed  build modules again that failed before with the same source and kernel
  --socket PATH   the control socket (default $DKMSD_SOCKET, else /run/dkms/dkmsd.sock)
Exit status: 0 accepted/finished well, 1 failures reported (printed with their make.log),
2 usage error, 3 no daemon reachable (the caller should run dkms itself).`,
  status: `Usage: dkmsd status [--json] [--socket PATH]
Shows what dkmsd is doing: running and waiting builds, each kernel's last result, builds that
failed and are not retried, finish steps still owed. --json prints the daemon's reply as it
is. Asks the status socket, which any user may read: --socket PATH, else
$DKMSD_STATUS_SOCKET, else dkmsd-status.sock beside the control socket.
Exit status: 0, or 3 when no daemon is reachable.`,
};
TOPICS['kernel-added'] = TOPICS['notify'] ?? '';
TOPICS['kernel-removed'] = TOPICS['notify'] ?? '';
TOPICS['module-added'] = TOPICS['notify'] ?? '';
TOPICS['rescan'] = TOPICS['notify'] ?? '';

export function daemonHelp(topic: string | undefined): string {
  const key = topic?.split(' ')[0];
  return (key && TOPICS[key]) || DAEMON_USAGE;
}
