#!/bin/bash
# Benchmark: what an idle dkmsd costs. A synthetic tree of 30 modules, all installed for
# 6.1.0-47-amd64 (real headers linked), plus a kernel directory without headers (watched for its
# `build` link). After the boot catch-up and a quiet second, reads from /proc:
#   RSS (VmRSS), the inotify watches it holds (the "inotify wd:" lines of its fdinfo), and the
#   context switches of all its threads over IDLE_SECONDS (default 10): a timer that fires while
#   idle shows up there. Measured once without NOTIFY_SOCKET (no watchdog) and once with a
#   watchdog of 10 s (pings every 5 s, the only timer dkmsd may keep). Measuring starts
#   IDLE_WARMUP seconds (default 20) after the catch-up: V8's memory reducer runs a few garbage
#   collections on timers of its own in the first seconds after activity, then stops.
#   A third run measures RSS again after dkmsd has built 30 real modules at its catch-up (copies
#   of the hello-1.0 fixture renamed hello1..hello30; REBUILD_MODULES), one jobserver for all, as
#   after a rebuild for a new kernel.
#
#   bash bench/daemon-idle.sh [--record]
#
# Goals (issue 3): RSS at most 60 MB, at most 20 watches, no timers firing; issue 12: at most
# 64 MB after a rebuild. No upstream counterpart (upstream has no daemon). A benchmark: nothing
# fails on a figure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
idle=${IDLE_SECONDS:-10}
warmup=${IDLE_WARMUP:-20}
modules=30
kernel=6.1.0-47-amd64
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init daemon-idle.sh dist/src/daemon/cli.js "$@"
[[ -f /usr/src/linux-headers-$kernel/Makefile ]] || {
    echo "daemon-idle.sh: needs linux-headers-$kernel" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-idle.XXXXXX")
daemon=''
listener=''
trap '[[ -n $daemon ]] && kill "$daemon" 2>/dev/null; [[ -n $listener ]] && kill "$listener" 2>/dev/null; rm -rf "$work"' EXIT
bash "$here/lib/synth-tree.sh" "$work/root" "$modules" "$kernel" 6.1.0-0-noheaders
root=$work/root
ln -s "/usr/src/linux-headers-$kernel" "$root/lib/modules/$kernel/build"
printf '%s\n' "dkms_tree = $root/tree" "source_tree = $root/src" "install_tree = $root/lib/modules" \
    "conf_dir = $root/etc/dkms" "socket = $work/dkmsd.sock" "initramfs_command =" "udev_command =" \
    >"$work/dkmsd.conf"

watches() { cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true; }
rss_kb() { awk '/^VmRSS/ { print $2 }' /proc/"$1"/status; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'; }

# start_daemon LOG [ENV...]: runs dkmsd until its catch-up is done, sets $daemon.
start_daemon() {
    local log=$1
    : >"$log"
    shift
    env DKMS_RUNNING_KERNEL=$kernel "$@" "$repo/bin/dkmsd" run --config "$work/dkmsd.conf" >"$log" 2>&1 &
    daemon=$!
    until grep -q '"msg":"catch-up finished"' "$log"; do
        kill -0 "$daemon" 2>/dev/null || {
            echo "dkmsd exited: $(tail -3 "$log")" >&2
            exit 1
        }
        sleep 0.05
    done
    sleep "$warmup"
}

stop_daemon() {
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
}

measure() { # label
    local pid=$daemon before after
    before=$(switches "$pid")
    sleep "$idle"
    after=$(switches "$pid")
    echo "$1 $(rss_kb "$pid") $(watches "$pid") $((after - before))"
}

load=$(cut -d' ' -f1 /proc/loadavg)
echo "idle dkmsd: $modules modules installed for $kernel, one kernel without headers, ${idle} s idle after ${warmup} s, load $load"
start_daemon "$work/plain.log"
read -r _ rss w sw < <(measure plain)
stop_daemon
echo "  without watchdog: RSS $((rss / 1024)) MB ($rss kB), $w inotify watches, $sw context switches in ${idle} s"

# A stand-in for systemd's notify socket, to let the watchdog run.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while True: s.recv(65536)
' "$work/notify.sock" &
listener=$!
sleep 0.3
start_daemon "$work/watchdog.log" NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=10000000
read -r _ wrss ww wsw < <(measure watchdog)
stop_daemon
echo "  with WatchdogSec=10: RSS $((wrss / 1024)) MB, $ww inotify watches, $wsw context switches in ${idle} s (pings every 5 s)"
kill "$listener"
listener=
rebuilt=${REBUILD_MODULES:-30}
for ((i = 1; i <= rebuilt; i++)); do
    copy=$root/src/hello$i-1.0
    mkdir -p "$copy"
    for file in Makefile dkms.conf hello.c; do
        sed "s/hello/hello$i/g" "$repo/test/fixtures/hello-1.0/$file" >"$copy/${file/hello/hello$i}"
    done
    "$repo/bin/dkms" add "hello$i/1.0" --dkmstree "$root/tree" --sourcetree "$root/src" \
        --installtree "$root/lib/modules" --confdir "$root/etc/dkms" >/dev/null
done
start_daemon "$work/built.log"
built=$(grep -c '"status":"installed".*"msg":"build finished"' "$work/built.log" || true)
((built == rebuilt)) || {
    echo "daemon-idle.sh: $built of $rebuilt modules were built: $(tail -3 "$work/built.log")" >&2
    exit 1
}
read -r _ brss bw bsw < <(measure built)
stop_daemon
echo "  after building $rebuilt modules: RSS $((brss / 1024)) MB, $bw inotify watches, $bsw context switches in ${idle} s"
echo "summary: idle dkmsd: RSS $((rss / 1024)) MB ($((brss / 1024)) MB after a build), $w inotify watches, $sw context switches in ${idle} s idle (with a 10 s watchdog: $wsw)"

[[ $record ]] || exit 0
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row="| $(date -u +%Y-%m-%d) | $(nproc) x ${cpu:-unknown CPU}, node $(node --version), load $load | $((rss / 1024)) MB | $((brss / 1024)) MB | $w | $sw in ${idle} s | $wsw in ${idle} s |"
header='| date | machine | RSS | RSS after a build | inotify watches | context switches, idle | same, watchdog 10 s |'
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "dkmsd: idle cost" "$header" "$row" <<INTRO
dkmsd after its boot catch-up on a synthetic tree of $modules modules installed for $kernel plus a
kernel directory without headers: RSS (VmRSS), inotify watches (the \`inotify wd:\` lines of
/proc/PID/fdinfo) and the context switches of all its threads during ${idle} s of idleness,
starting ${warmup} s after the catch-up (V8's memory reducer runs a few timed garbage
collections just after activity), without a watchdog and with WatchdogSec=10 (systemd-notify
spawned every 5 s); "RSS after a build" once more after dkmsd built and installed
$rebuilt modules at its catch-up (copies of the hello-1.0 fixture; before 2026-11-30 hello-1.0
alone, in the first row of 2026-11-30 six fixture packages: hello, multi, patched, makematch,
makeold, shelly). Since 2026-11-30 bin/dkmsd, like the package's wrapper, runs node with
\`--max-semi-space-size=1 --no-opt\` (see "dkmsd: what is resident" below).
Goals: at most 60 MB idle and 64 MB after a rebuild, at most 20 watches, no timers firing when
idle.

Command: \`npm run build && bash bench/daemon-idle.sh --record\`
INTRO
echo "recorded in docs/benchmarks.md"
