#!/bin/bash
# Benchmark: `dkms status` on a synthetic tree of 30 modules x 2 kernels (60 entries), ours
# (bin/dkms, built) against Debian's dkms script (sid's: scripts/fetch-upstream.sh), in the same run.
#
#   bash bench/status.sh [--record]
#
# Runs each side BENCH_RUNS times (default 5), prints both medians and their ratio, and fails if
# the two outputs differ (an older upstream's annotation wording is mapped to 3.4's first; nothing
# else is touched). --record adds the figures to the "dkms status" section of docs/benchmarks.md.
# Fetches Debian's dkms with scripts/fetch-upstream.sh (DKMS_TS_CACHE). A benchmark, not a test:
# nothing here fails because of a time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
modules=30
kernels=(6.1.0-47-amd64 6.1.0-50-amd64)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init status.sh dist/src/cli/dkms.js "$@"

upstream=$(bash "$repo/scripts/fetch-upstream.sh" --quiet dkms | cut -f2)
# BENCH_UPSTREAM: another dkms script to compare with (e.g. Debian 12's 3.0.10, extracted)
upstream=${BENCH_UPSTREAM:-$upstream}
upstream_v=$(upstream_version "$upstream")
work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-status.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$here/lib/synth-tree.sh" "$work/root" "$modules" "${kernels[@]}"
root=$work/root
tree_args=(--dkmstree "$root/tree" --sourcetree "$root/src" --installtree "$root/lib/modules")

ours() { "$repo/bin/dkms" status "${tree_args[@]}" --confdir "$root/etc/dkms"; }
# dkms-ts's caches (evaluated plain dkms.conf files) in the work directory; one untimed run
# fills them, as the first root command after installing does
export DKMS_TS_CACHE_DIR=$work/cache
ours >/dev/null

upstream() { run_upstream "$upstream" status "${tree_args[@]}"; }

in_34_wording() {
    sed -e 's/ (original_module exists)/ (Original modules exist)/g' \
        -e 's/ (WARNING! Missing some built modules!)/ (Built modules are missing in the kernel modules folder)/g' \
        -e 's/ (WARNING! Diff between built and installed module!)/ (Differences between built and installed modules)/g'
}

# Wall time of one run in ms; stdout goes to $2.
time_ms() {
    local start end
    start=$(date +%s%N)
    "$1" >"$2"
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }

entries=$((modules * ${#kernels[@]}))
load=$(cut -d' ' -f1 /proc/loadavg)
echo "dkms status: $modules modules x ${#kernels[@]} kernels ($entries entries), $runs runs each, load $load"
# Alternating the two sides spreads any change in machine load over both.
ours_times=() upstream_times=()
for ((i = 0; i < runs; i++)); do
    ours_times+=("$(time_ms ours "$work/ours.txt")")
    upstream_times+=("$(time_ms upstream "$work/upstream.txt")")
done
ours_ms=$(printf '%s\n' "${ours_times[@]}" | median)
upstream_ms=$(printf '%s\n' "${upstream_times[@]}" | median)
echo "  ours (bin/dkms):        median ${ours_ms} ms (${ours_times[*]})"
echo "  upstream (dkms $upstream_v): median ${upstream_ms} ms (${upstream_times[*]})"

in_34_wording <"$work/upstream.txt" >"$work/upstream-34.txt"
if ! cmp -s "$work/upstream-34.txt" "$work/ours.txt"; then
    echo "status.sh: outputs differ (upstream, 3.4 wording / ours):" >&2
    diff "$work/upstream-34.txt" "$work/ours.txt" >&2 || true
    exit 1
fi
lines=$(wc -l <"$work/ours.txt")
ratio=$(awk -v u="$upstream_ms" -v o="$ours_ms" 'BEGIN { printf "%.0f", (o > 0) ? u / o : 0 }')
echo "  outputs identical ($lines lines); upstream/ours: ${ratio}x"
echo "summary: status ${entries} entries: ours ${ours_ms} ms, upstream ${upstream_ms} ms, ${ratio}x"

[[ $record ]] || exit 0
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row="| $(date -u +%Y-%m-%d) | $(nproc) x ${cpu:-unknown CPU}, node $(node --version), load $load, upstream dkms $upstream_v | $runs | ${ours_ms} ms | ${upstream_ms} ms | ${ratio}x |"
header='| date | machine | runs | ours, median | upstream, median | upstream/ours |'
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "dkms status" "$header" "$row" <<EOF
\`dkms status\` on a synthetic tree of $modules modules x ${#kernels[@]} kernels ($entries entries;
placeholder .ko files; most entries installed, some built only, some with an original_module
directory or an installed copy that differs from the built one), ours (\`bin/dkms\`) against
Debian's dkms (scripts/fetch-upstream.sh: sid's, the release closest to 3.4.3 that Debian ships; each row's machine column names its version; rows before 2026-11-30: Debian 12's 3.0.10) in the same run, alternating. Median wall time of BENCH_RUNS runs
each; "load" is the 1-minute load average when the run started (other work on the machine skews
the figures). The two outputs must be identical (3.0.10's annotation wording mapped to 3.4's),
or nothing is recorded.
Generator: \`bench/lib/synth-tree.sh\`.

Command: \`npm run build && BENCH_RUNS=$runs bash bench/status.sh --record\`
EOF
echo "recorded in docs/benchmarks.md"
