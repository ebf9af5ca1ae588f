#!/bin/bash
# Benchmark: what the packaged bundles (scripts/bundle.sh: dkms and dkmsd as one CommonJS file
# each, dkms started through dkms/start.cjs from V8's code cache) change at start-up against the
# unbundled dist/ (one ES module per source file, node_modules).
#
#   bash bench/bundle-startup.sh [--record]
#
# Four commands, each side BENCH_RUNS times (default 7), alternating, medians:
# `dkms --version` (node start-up and loading only), `dkms status` on a synthetic tree of 30
# modules x 2 kernels, `dkms status` on 30 modules that are only added (no dkms.conf to read:
# Debian's dkms (sid's: scripts/fetch-upstream.sh) runs too, the same number of times, for comparison), and dkmsd's no-op
# catch-up (start to its "catch-up finished" record, all 30 modules installed for
# 6.1.0-47-amd64). Both sides run node directly (no wrapper script), without
# NODE_EXTRA_CA_CERTS; dkmsd with the flags its wrapper gives it. A benchmark: nothing fails on
# a time. The code cache lives in the work directory (DKMS_TS_CACHE_DIR); one untimed run of
# each command writes it before the timed runs, as the first dkms command after installing the
# package does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
modules=30
kernel=6.1.0-47-amd64
default_runs=7
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init bundle-startup.sh dist/src/cli/dkms.js "$@"
unset NODE_EXTRA_CA_CERTS

work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-bundle.XXXXXX")
daemon=
trap '[[ -n $daemon ]] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
upstream=$(bash "$repo/scripts/fetch-upstream.sh" --quiet dkms | cut -f2)
# BENCH_UPSTREAM: another dkms script to compare with (e.g. Debian 12's 3.0.10, extracted)
upstream=${BENCH_UPSTREAM:-$upstream}
upstream_v=$(upstream_version "$upstream")
bash "$repo/scripts/bundle.sh" "$work/bundle"
bash "$here/lib/synth-tree.sh" "$work/root" "$modules" "$kernel" 6.1.0-50-amd64
root=$work/root
ln -s "/usr/src/linux-headers-$kernel" "$root/lib/modules/$kernel/build"
tree_args=(--dkmstree "$root/tree" --sourcetree "$root/src" --installtree "$root/lib/modules"
    --confdir "$root/etc/dkms")
printf '%s\n' "dkms_tree = $root/tree" "source_tree = $root/src" "install_tree = $root/lib/modules" \
    "conf_dir = $root/etc/dkms" "socket = $work/dkmsd.sock" "initramfs_command =" "udev_command =" \
    "log_format = json" >"$work/dkmsd.conf"

# 30 modules that are only added: a source dir with its dkms.conf and the tree's source link.
added=$work/added
mkdir -p "$added/src" "$added/tree" "$added/lib/modules/$kernel"
for ((i = 1; i <= modules; i++)); do
    mkdir -p "$added/src/added$i-1.0" "$added/tree/added$i/1.0"
    printf 'PACKAGE_NAME="added%s"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="added%s"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\n' \
        "$i" "$i" >"$added/src/added$i-1.0/dkms.conf"
    ln -s "$added/src/added$i-1.0" "$added/tree/added$i/1.0/source"
done
added_args=(--dkmstree "$added/tree" --sourcetree "$added/src" --installtree "$added/lib/modules")

declare -A main=([unbundled]="$repo/dist/src/cli/dkms.js" [bundled]="$work/bundle/dkms/start.cjs")
export DKMS_TS_CACHE_DIR=$work/code-cache
declare -A daemon_main=([unbundled]="$repo/dist/src/daemon/cli.js" [bundled]="$work/bundle/dkmsd.cjs")

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }

# timed SIDE ARGS...: wall time in ms of `node <dkms of SIDE> ARGS`.
timed() {
    local side=$1 start end
    shift
    start=$(now_ms)
    node "${main[$side]}" "$@" >/dev/null 2>&1
    end=$(now_ms)
    echo $((end - start))
}

# upstream_added: wall time in ms of upstream's `dkms status` on the added modules.
upstream_added() {
    local start end
    start=$(now_ms)
    run_upstream "$upstream" status "${added_args[@]}" >"$work/upstream-added.out"
    end=$(now_ms)
    echo $((end - start))
}

# catchup SIDE: ms from starting dkmsd to its "catch-up finished" record.
catchup() {
    local log=$work/daemon.log start end
    : >"$log"
    start=$(now_ms)
    DKMS_RUNNING_KERNEL=$kernel node --max-semi-space-size=1 --no-opt "${daemon_main[$1]}" run --config "$work/dkmsd.conf" >"$log" 2>&1 &
    daemon=$!
    until grep -q '"msg":"catch-up finished"' "$log"; do
        kill -0 "$daemon" 2>/dev/null || {
            echo "dkmsd exited: $(tail -3 "$log")" >&2
            exit 1
        }
        sleep 0.005
    done
    end=$(now_ms)
    if grep -q '"msg":"build started"' "$log"; then
        echo "dkmsd built something: not a no-op" >&2
        exit 1
    fi
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
    echo $((end - start))
}

if ! cmp -s <(node "${main[unbundled]}" status "${tree_args[@]}") \
    <(node "${main[bundled]}" status "${tree_args[@]}"); then
    echo "bundle-startup.sh: the bundled dkms status differs from the unbundled one" >&2
    exit 1
fi

# the code cache of each command, as the first run after installing writes it
for args in --version "status ${tree_args[*]}" "status ${added_args[*]}"; do
    # shellcheck disable=SC2086 # paths without spaces (mktemp)
    node "${main[bundled]}" $args >/dev/null 2>&1
done
load=$(cut -d' ' -f1 /proc/loadavg)
echo "bundled vs unbundled start-up: $runs runs each, load $load"
declare -A t
for ((i = 0; i < runs; i++)); do
    for side in unbundled bundled; do
        t[$side.version]+="$(timed "$side" --version) "
        t[$side.status]+="$(timed "$side" status "${tree_args[@]}") "
        t[$side.added]+="$(timed "$side" status "${added_args[@]}") "
        t[$side.catchup]+="$(catchup "$side") "
    done
    t[upstream.added]+="$(upstream_added) "
done
node "${main[bundled]}" status "${added_args[@]}" >"$work/ours-added.out"
if ! cmp -s "$work/ours-added.out" "$work/upstream-added.out"; then
    echo "bundle-startup.sh: dkms status of the added modules differs from upstream's" >&2
    diff "$work/upstream-added.out" "$work/ours-added.out" >&2 || true
    exit 1
fi
declare -A m
for key in "${!t[@]}"; do
    # shellcheck disable=SC2086 # a list of numbers
    m[$key]=$(printf '%s\n' ${t[$key]} | median)
done
for what in version status added catchup; do
    echo "  $what: unbundled ${m[unbundled.$what]} ms (${t[unbundled.$what]% }), bundled ${m[bundled.$what]} ms (${t[bundled.$what]% })"
done
echo "  added, upstream $upstream_v: ${m[upstream.added]} ms (${t[upstream.added]% })"
echo "summary: bundled/unbundled medians: dkms --version ${m[bundled.version]}/${m[unbundled.version]} ms, dkms status ${m[bundled.status]}/${m[unbundled.status]} ms, only added ${m[bundled.added]}/${m[unbundled.added]} ms (upstream ${m[upstream.added]} ms), dkmsd no-op catch-up ${m[bundled.catchup]}/${m[unbundled.catchup]} ms"

[[ $record ]] || exit 0
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row="| $(date -u +%Y-%m-%d) | $(nproc) x ${cpu:-unknown CPU}, node $(node --version), load $load, upstream dkms $upstream_v | $runs | ${m[unbundled.version]} / ${m[bundled.version]} ms | ${m[unbundled.status]} / ${m[bundled.status]} ms | ${m[unbundled.catchup]} / ${m[bundled.catchup]} ms | ${m[unbundled.added]} / ${m[bundled.added]} / ${m[upstream.added]} ms |"
# shellcheck disable=SC2016 # backquotes are markdown
header='| date | machine | runs | `dkms --version` unbundled / bundled | `dkms status` unbundled / bundled | dkmsd no-op catch-up unbundled / bundled | `dkms status`, 30 only added: unbundled / bundled / upstream |'
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "Bundled start-up" "$header" "$row" <<INTRO
What the Debian package's bundles (\`scripts/bundle.sh\`: esbuild, no node_modules; first
one CommonJS file per command, then (rows at load 4.85 and 1.91) dkms as ES modules split by
command, since the last rows dkms as one CommonJS file started from V8's code cache; dkmsd one
CommonJS file throughout) change at start-up, against the unbundled \`dist/\` the checkout
runs (one ES module per source file). \`node FILE\` directly on both sides, without
NODE_EXTRA_CA_CERTS: \`dkms --version\` (loading only), \`dkms status\` on the synthetic tree of
$modules modules x 2 kernels of "dkms status" above (outputs compared first), dkmsd's no-op
catch-up ($modules modules installed for $kernel; start to "catch-up finished"; since
2026-11-30 with dkmsd's node flags), and (since 2026-11-30) \`dkms status\` on $modules modules
that are only added, with Debian's dkms (scripts/fetch-upstream.sh: sid's, the release closest to 3.4.3 that Debian ships; each row's machine column names its version; rows before 2026-11-30: Debian 12's 3.0.10) in the same run (outputs compared). Medians of
BENCH_RUNS runs each, alternating sides. Goal (issue 12): \`dkms status\` bundled at most
60 ms.

Command: \`npm run build && BENCH_RUNS=$runs bash bench/bundle-startup.sh --record\`
INTRO
echo "recorded in docs/benchmarks.md"
