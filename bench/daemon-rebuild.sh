#!/bin/bash
# Benchmark: rebuilding real DKMS packages for a new kernel (6.1.0-50-amd64), dkmsd against
# upstream's `dkms autoinstall` (Debian's dkms, sid's: scripts/fetch-upstream.sh), in the same run. By default 8 packages,
# a mix of sizes from the shared corpus: jool (two modules, the biggest here), apfs,
# falcosecurity-scap, v4l2loopback, ddcci, dm-writeboost, tp-smapi, bbswitch.
#
#   bash bench/daemon-rebuild.sh [--record]
#   BENCH_PACKAGES=corpus bash bench/daemon-rebuild.sh [--record]     (the 30-package corpus)
#   BENCH_PACKAGES="openafs-modules-dkms jool-dkms ..." bash bench/daemon-rebuild.sh
#   BENCH_OURS="before=/path/to/old/checkout after=." bash bench/daemon-rebuild.sh
#
# Each side gets its own sandbox with the packages added. Upstream: wall and CPU time of
# `dkms autoinstall -k 6.1.0-50-amd64`. dkmsd: already running and idle; the kernel's `build`
# link is created and `dkmsd notify kernel-added --wait` is timed until it answers (the kernel
# finished, depmod done); CPU time is the machine's busy time over that span (/proc/stat); each build's
# start and end (seconds after the kernel appeared) come from the daemon's log. BENCH_OURS
# lists the dkmsd checkouts to run (LABEL=DIR, default: this one), each after the same
# upstream run, to compare a change before and after. The initramfs and udev commands are off
# on both sides. BENCH_RUNS runs (default 1). Fetches the packages with
# scripts/fetch-upstream.sh; the corpus builds need libxtables-dev, pkg-config and libelf-dev.
# A benchmark: nothing fails on a time, but both sides must install the same modules.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
default_runs=1
kernel=6.1.0-50-amd64
packages=(jool-dkms apfs-dkms falcosecurity-scap-dkms v4l2loopback-dkms ddcci-dkms dm-writeboost-dkms tp-smapi-dkms bbswitch-dkms)
# The 30 *-dkms packages of Debian 12 (shared/reference/corpus.md's 20 and 10 more).
corpus=(acpi-call-dkms adv-17v35x-dkms apfs-dkms bbswitch-dkms dahdi-dkms ddcci-dkms digimend-dkms
    dm-writeboost-dkms dpdk-kmods-dkms evdi-dkms falcosecurity-scap-dkms gost-crypto-dkms
    iptables-netflow-dkms jool-dkms langford-dkms librem-ec-acpi-dkms lime-forensics-dkms
    lttng-modules-dkms nat-rtsp-dkms openafs-modules-dkms openrazer-driver-dkms openvpn-dco-dkms
    rapiddisk-dkms rtpengine-kernel-dkms tp-smapi-dkms v4l2loopback-dkms vpoll-dkms
    west-chamber-dkms xtables-addons-dkms xtrx-dkms)
section="dkmsd: rebuild for a new kernel"
goal="dkmsd at most 0.7x upstream's wall time, CPU close to all cores"
case ${BENCH_PACKAGES:-} in
    '') ;;
    corpus)
        packages=("${corpus[@]}")
        section="dkmsd: rebuild of the 30-package corpus"
        goal="dkmsd at most 0.55x upstream's wall time (issue 12), CPU above 190% of 200%"
        ;;
    *)
        read -r -a packages <<<"$BENCH_PACKAGES"
        section="dkmsd: rebuild of ${#packages[@]} chosen packages"
        ;;
esac
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init daemon-rebuild.sh dist/src/daemon/cli.js "$@"
[[ -f /usr/src/linux-headers-$kernel/Makefile ]] || {
    echo "daemon-rebuild.sh: needs linux-headers-$kernel" >&2
    exit 1
}

# Not --build-deps: some packages depend on other *-dkms packages, whose installation would bring
# Debian's dkms onto the machine and build for its real kernels.
fetched=$(bash "$repo/scripts/fetch-upstream.sh" --quiet dkms "${packages[@]}")
upstream=$(awk -F'\t' '$1 == "dkms" { print $2 }' <<<"$fetched")
# BENCH_UPSTREAM: another dkms script to compare with (e.g. Debian 12's 3.0.10, extracted)
upstream=${BENCH_UPSTREAM:-$upstream}
upstream_v=$(upstream_version "$upstream")
mapfile -t sources < <(awk -F'\t' '$1 != "dkms" { print $2 }' <<<"$fetched")
work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-rebuild.XXXXXX")
daemon=
trap '[[ -n $daemon ]] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
ncpu=$(nproc)

# sandbox DIR DKMS...: trees and the packages added with the dkms command DKMS..., no kernel yet.
sandbox() {
    local dir=$1 source
    shift
    rm -rf "$dir"
    mkdir -p "$dir/src" "$dir/tree" "$dir/lib/modules" "$dir/etc/dkms"
    for source in "${sources[@]}"; do
        "$@" add "$source" --dkmstree "$dir/tree" --sourcetree "$dir/src" --installtree "$dir/lib/modules" >/dev/null 2>&1 || {
            echo "daemon-rebuild.sh: $* add $source failed" >&2
            exit 1
        }
    done
}
add_kernel() {
    mkdir -p "$1/lib/modules/$kernel"
    ln -s "/usr/src/linux-headers-$kernel" "$1/lib/modules/$kernel/build"
}
installed() { find "$1/lib/modules/$kernel" -name '*.ko*' -not -path '*/build/*' -printf '%f\n' | sort | tr '\n' ' '; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Busy CPU time of the whole machine, in clock ticks (/proc/stat: user, nice, system, irq,
# softirq, steal). dkmsd's own /proc accounting cannot be used: builds in the bwrap sandbox end
# in their own PID namespace and their CPU time never reaches dkmsd's reaped-children fields.
# On an idle machine this is dkmsd and its builds; other work on the machine counts too.
cpu_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
hz=$(getconf CLK_TCK)

upstream_run() {
    local dir=$work/upstream
    sandbox "$dir" bash "$upstream"
    add_kernel "$dir"
    local args=(autoinstall -k "$kernel" --dkmstree "$dir/tree" --sourcetree "$dir/src" --installtree "$dir/lib/modules")
    local timing=$work/upstream.time
    if [[ -e /etc/dkms ]]; then
        mkdir -p "$work/empty"
        # shellcheck disable=SC2016 # expanded by the inner bash
        /usr/bin/time -f '%e %U %S' -o "$timing" unshare --mount --propagation private \
            bash -c 'mount --bind "$1" /etc/dkms && shift && exec bash "$@"' upstream-dkms "$work/empty" "$upstream" "${args[@]}" >"$work/upstream.out" 2>&1 || true
    else
        /usr/bin/time -f '%e %U %S' -o "$timing" bash "$upstream" "${args[@]}" >"$work/upstream.out" 2>&1 || true
    fi
    # /usr/bin/time puts "Command exited with non-zero status N" first when a module failed.
    read -r u_wall u_user u_sys < <(tail -n 1 "$timing")
    u_installed=$(installed "$dir")
}

# ours_run CHECKOUT: the same with that checkout's dkmsd.
ours_run() {
    local checkout=$1 dir=$work/ours log=$work/daemon.log start end before after
    sandbox "$dir" "$checkout/bin/dkms"
    printf '%s\n' "dkms_tree = $dir/tree" "source_tree = $dir/src" "install_tree = $dir/lib/modules" \
        "conf_dir = $dir/etc/dkms" "socket = $work/dkmsd.sock" "initramfs_command =" "udev_command =" \
        >"$work/dkmsd.conf"
    "$checkout/bin/dkmsd" run --config "$work/dkmsd.conf" >"$log" 2>&1 &
    daemon=$!
    until grep -q '"msg":"catch-up finished"' "$log"; do sleep 0.05; done
    before=$(cpu_ticks)
    start=$(now_ms)
    add_kernel "$dir"
    "$checkout/bin/dkmsd" notify kernel-added "$kernel" --wait --timeout 3600 --socket "$work/dkmsd.sock" >"$work/ours.out" 2>&1 || true
    end=$(now_ms)
    after=$(cpu_ticks)
    o_rss=$(awk '/^VmRSS/ { printf "%d MB", $2 / 1024 }' "/proc/$daemon/status")
    o_hwm=$(awk '/^VmHWM/ { printf "%d MB", $2 / 1024 }' "/proc/$daemon/status")
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
    o_wall=$(awk -v ms=$((end - start)) 'BEGIN { printf "%.1f", ms / 1000 }')
    o_cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
    o_installed=$(installed "$dir")
    timeline "$log" "$start"
}

# timeline LOG START_MS: each build's start and end in seconds after START_MS, from dkmsd's log.
timeline() {
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
        const [log, start] = [process.argv[1], Number(process.argv[2])];
        const builds = new Map();
        for (const line of require("fs").readFileSync(log, "utf8").split("\n")) {
            let r;
            try { r = JSON.parse(line); } catch { continue; }
            const at = ((Date.parse(r.time) - start) / 1000).toFixed(1);
            if (r.msg === "build started") builds.set(r.module, { start: at, jobs: r.makeJobs });
            if (r.msg === "build finished" && builds.has(r.module))
                Object.assign(builds.get(r.module), { end: at, status: r.status });
        }
        for (const [module, b] of [...builds].sort((a, b) => a[1].start - b[1].start))
            console.log(`    ${module.padEnd(28)} ${b.start.padStart(6)} s .. ${String(b.end).padStart(6)} s  ${b.status}${b.jobs ? `, -j${b.jobs}` : ""}`);
    ' "$1" "$2"
}

ours=()
read -r -a ours <<<"${BENCH_OURS:-ours=$repo}"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "rebuild for $kernel: ${#packages[@]} packages, $ncpu CPUs, $runs run(s), load $load"
rows=()
for ((i = 0; i < runs; i++)); do
    upstream_run
    u_cpu=$(awk -v u="$u_user" -v s="$u_sys" 'BEGIN { printf "%.1f", u + s }')
    u_use=$(awk -v c="$u_cpu" -v w="$u_wall" -v n="$ncpu" 'BEGIN { printf "%.0f", 100 * c / w }')
    echo "  upstream dkms autoinstall: ${u_wall} s wall, ${u_cpu} s CPU (${u_use}% of $((ncpu * 100))%), load $load"
    for entry in "${ours[@]}"; do
        label=${entry%%=*}
        checkout=$(cd "${entry#*=}" && pwd)
        ours_load=$(cut -d' ' -f1 /proc/loadavg)
        echo "  dkmsd ($label, $checkout), load $ours_load; builds (start .. end after the kernel appeared):"
        ours_run "$checkout"
        o_use=$(awk -v c="$o_cpu" -v w="$o_wall" 'BEGIN { printf "%.0f", 100 * c / w }')
        ratio=$(awk -v o="$o_wall" -v u="$u_wall" 'BEGIN { printf "%.2f", o / u }')
        echo "  dkmsd ($label): ${o_wall} s wall, ${o_cpu} s CPU (${o_use}% of $((ncpu * 100))%); dkmsd/upstream ${ratio}; RSS after ${o_rss} (peak ${o_hwm})"
        if [[ $u_installed != "$o_installed" ]]; then
            echo "daemon-rebuild.sh: the two sides installed different modules:" >&2
            echo "  upstream: $u_installed" >&2
            echo "  dkmsd:    $o_installed" >&2
            exit 1
        fi
        echo "  both installed ($(wc -w <<<"$o_installed")): $o_installed"
        label_cell=
        ((${#ours[@]} > 1)) && label_cell=" ($label)"
        rows+=("| $(date -u +%Y-%m-%d) | $ncpu x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), node $(node --version), load $load, upstream dkms $upstream_v | ${u_wall} s, CPU ${u_use}% | ${o_wall} s, CPU ${o_use}%${label_cell} | ${ratio} |")
        echo "summary: rebuild of ${#packages[@]} packages: upstream ${u_wall} s (CPU ${u_use}%), dkmsd ($label) ${o_wall} s (CPU ${o_use}%), dkmsd/upstream ${ratio}"
    done
done

[[ $record ]] || exit 0
# shellcheck disable=SC2016 # backquotes are markdown
header='| date | machine | upstream `dkms autoinstall` | dkmsd | dkmsd/upstream |'
for row in "${rows[@]}"; do
    bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "$section" "$header" "$row" <<INTRO
${#packages[@]} real packages from the shared corpus, added to two sandboxes and rebuilt for
$kernel: ${packages[*]}. Debian's dkms (scripts/fetch-upstream.sh: sid's since 2026-11-30, Debian 12's
3.0.10 before; the version is in each row's machine column) \`dkms autoinstall\` (one module after the
other, each with make -j$ncpu) against dkmsd noticing the kernel (\`dkmsd notify kernel-added
--wait\` timed until the kernel is finished, depmod included). CPU: upstream's user+system time
with its children; for dkmsd the machine's busy time over the same span (sandboxed builds' CPU
never reaches dkmsd's accounting), both over wall time, out of $((ncpu * 100))%. Initramfs and udev off on both
sides; both must install the same modules. Other work on the machine moves the figures a lot
(compare rows with their load). Goal: $goal.

Command: \`npm run build && ${BENCH_PACKAGES:+BENCH_PACKAGES=${BENCH_PACKAGES// /\\ } }bash bench/daemon-rebuild.sh --record\`
INTRO
done
echo "recorded in docs/benchmarks.md"
