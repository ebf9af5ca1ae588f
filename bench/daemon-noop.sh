#!/bin/bash
# Benchmark: the no-op boot catch-up. A synthetic tree of 30 modules, all installed for
# 6.1.0-47-amd64 (real headers linked, placeholder .ko files); dkmsd starts and finds nothing to
# do. Compared, in the same run, with upstream's no-op `dkms autoinstall -k 6.1.0-47-amd64`
# (Debian's dkms, sid's: scripts/fetch-upstream.sh) and with ours (`bin/dkms autoinstall`, the same planner in-process).
#
#   bash bench/daemon-noop.sh [--record]
#
# dkmsd is timed from its start to its "catch-up finished" log record (includes node's start-up,
# reading the configuration, the socket and the watches); its own "durationMs" (planning only) is
# shown too. BENCH_RUNS runs each (default 5), medians. A benchmark: nothing fails on a time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
modules=30
kernel=6.1.0-47-amd64
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init daemon-noop.sh dist/src/daemon/cli.js "$@"
[[ -f /usr/src/linux-headers-$kernel/Makefile ]] || {
    echo "daemon-noop.sh: needs linux-headers-$kernel" >&2
    exit 1
}

upstream=$(bash "$repo/scripts/fetch-upstream.sh" --quiet dkms | cut -f2)
# BENCH_UPSTREAM: another dkms script to compare with (e.g. Debian 12's 3.0.10, extracted)
upstream=${BENCH_UPSTREAM:-$upstream}
upstream_v=$(upstream_version "$upstream")
work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-noop.XXXXXX")
daemon=
trap '[[ -n $daemon ]] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
# Two kernels so that every module is installed for the first one (synth-tree leaves some of
# the last kernel's uninstalled); only the first has headers, so only it is planned.
bash "$here/lib/synth-tree.sh" "$work/root" "$modules" "$kernel" 6.1.0-50-amd64
root=$work/root
ln -s "/usr/src/linux-headers-$kernel" "$root/lib/modules/$kernel/build"
tree_args=(--dkmstree "$root/tree" --sourcetree "$root/src" --installtree "$root/lib/modules")
printf '%s\n' "dkms_tree = $root/tree" "source_tree = $root/src" "install_tree = $root/lib/modules" \
    "conf_dir = $root/etc/dkms" "socket = $work/dkmsd.sock" "initramfs_command =" "udev_command =" \
    >"$work/dkmsd.conf"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }

# Start to "catch-up finished", in ms; the record's durationMs is appended to $work/planning.
dkmsd_catchup() {
    local log=$work/daemon.log start end
    : >"$log"
    start=$(now_ms)
    DKMS_RUNNING_KERNEL=$kernel "$repo/bin/dkmsd" run --config "$work/dkmsd.conf" >"$log" 2>&1 &
    daemon=$!
    until grep -q '"msg":"catch-up finished"' "$log"; do
        kill -0 "$daemon" 2>/dev/null || {
            echo "dkmsd exited: $(tail -3 "$log")" >&2
            exit 1
        }
        sleep 0.005
    done
    end=$(now_ms)
    sed -n 's/.*"durationMs":\([0-9]*\).*"msg":"catch-up finished".*/\1/p' "$log" >>"$work/planning"
    if grep -q '"msg":"build started"' "$log"; then
        echo "dkmsd built something: not a no-op" >&2
        exit 1
    fi
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
    echo $((end - start))
}

ours_cli() {
    local start end
    start=$(now_ms)
    "$repo/bin/dkms" autoinstall -k "$kernel" "${tree_args[@]}" --confdir "$root/etc/dkms" >"$work/ours.out" 2>&1
    end=$(now_ms)
    if grep -q 'Building module' "$work/ours.out"; then
        echo "dkms autoinstall built something: not a no-op" >&2
        exit 1
    fi
    echo $((end - start))
}

upstream_cli() {
    local start end
    start=$(now_ms)
    run_upstream "$upstream" autoinstall -k "$kernel" "${tree_args[@]}" >"$work/upstream.out" 2>&1
    end=$(now_ms)
    if grep -q 'Building module' "$work/upstream.out"; then
        echo "upstream autoinstall built something: not a no-op" >&2
        exit 1
    fi
    echo $((end - start))
}

load=$(cut -d' ' -f1 /proc/loadavg)
echo "no-op catch-up: $modules modules installed for $kernel, $runs runs each, load $load"
d_times=() c_times=() u_times=()
for ((i = 0; i < runs; i++)); do
    d_times+=("$(dkmsd_catchup)")
    c_times+=("$(ours_cli)")
    u_times+=("$(upstream_cli)")
done
d_ms=$(printf '%s\n' "${d_times[@]}" | median)
c_ms=$(printf '%s\n' "${c_times[@]}" | median)
u_ms=$(printf '%s\n' "${u_times[@]}" | median)
p_ms=$(median <"$work/planning")
ratio=$(awk -v u="$u_ms" -v o="$d_ms" 'BEGIN { printf "%.3f", (u > 0) ? o / u : 0 }')
echo "  dkmsd start to catch-up done:   median ${d_ms} ms (${d_times[*]}); planning itself ${p_ms} ms"
echo "  dkms autoinstall (ours, no-op): median ${c_ms} ms (${c_times[*]})"
echo "  dkms autoinstall ($upstream_v):      median ${u_ms} ms (${u_times[*]})"
echo "summary: no-op catch-up, $modules modules: dkmsd ${d_ms} ms (planning ${p_ms} ms), our autoinstall ${c_ms} ms, upstream ${u_ms} ms; dkmsd/upstream ${ratio}"

[[ $record ]] || exit 0
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row="| $(date -u +%Y-%m-%d) | $(nproc) x ${cpu:-unknown CPU}, node $(node --version), load $load, upstream dkms $upstream_v | $runs | ${d_ms} ms | ${p_ms} ms | ${c_ms} ms | ${u_ms} ms | ${ratio} |"
# shellcheck disable=SC2016 # backquotes are markdown
header='| date | machine | runs | dkmsd start to catch-up done | of which planning | our `dkms autoinstall` | upstream `dkms autoinstall` | dkmsd/upstream |'
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "dkmsd: no-op boot catch-up" "$header" "$row" <<INTRO
A synthetic tree of $modules modules (\`bench/lib/synth-tree.sh\`), all installed for $kernel
(real headers linked): dkmsd starts, plans the kernel and finds nothing to do. Timed from the
start of \`bin/dkmsd run\` to its "catch-up finished" log record (node start-up, configuration,
socket, watches, planning); "of which planning" is the daemon's own figure for the catch-up.
Same run: our \`dkms autoinstall -k $kernel\` (same planner, in-process) and Debian's dkms
(scripts/fetch-upstream.sh: sid's since 2026-11-30, Debian 12's 3.0.10 before; the version is in
each row's machine column) \`dkms autoinstall -k $kernel\`. Medians of BENCH_RUNS runs each. Goal: at most 0.15 s.

Command: \`npm run build && BENCH_RUNS=$runs bash bench/daemon-noop.sh --record\`
INTRO
echo "recorded in docs/benchmarks.md"
