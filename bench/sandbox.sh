#!/bin/bash
# Benchmark: what the build sandbox (docs/sandbox.md) costs, and that the corpus still builds.
#
#   bash bench/sandbox.sh [--record]
#
# 1. Fixed cost: the hello-1.0 fixture (a one-file module) built BENCH_RUNS times (default 5)
#    for 6.1.0-47-amd64 with build_sandbox=bwrap and with build_sandbox=none, alternating;
#    median wall time of `dkms build --force` each.
# 2. Corpus (skipped with BENCH_CORPUS=0): every corpus package of scripts/fetch-upstream.sh
#    built once each way. Which packages build, and the total wall time of each side.
# The trees live in a directory of mode 0755, so sandboxed builds run as the unprivileged user
# (as on a real system); that is checked. Nothing fails on a time; a package that builds one
# way and not the other is reported and fails the benchmark.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=6.1.0-47-amd64
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init sandbox.sh dist/src/cli/dkms.js "$@"
[[ -f /usr/src/linux-headers-$kernel/Makefile ]] || {
    echo "sandbox.sh: needs linux-headers-$kernel" >&2
    exit 1
}
[[ $(id -u) == 0 ]] || {
    echo "sandbox.sh: run as root (the sandbox's build user needs it)" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-sandbox.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/src" "$work/tree" "$work/lib/modules/$kernel" "$work/etc/bwrap" "$work/etc/none"
ln -s "/usr/src/linux-headers-$kernel" "$work/lib/modules/$kernel/build"
echo 'build_sandbox=bwrap' >"$work/etc/bwrap/framework.conf"
echo 'build_sandbox=none' >"$work/etc/none/framework.conf"
tree_args=(--dkmstree "$work/tree" --sourcetree "$work/src" --installtree "$work/lib/modules")
median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# build MODE M/V: builds once; prints the wall time in ms, or "failed". With bwrap, the build
# must have run as the unprivileged user.
build() {
    local mode=$1 module=$2 start end out
    start=$(now_ms)
    if out=$("$repo/bin/dkms" build "$module" -k "$kernel" --force --verbose --confdir "$work/etc/$mode" "${tree_args[@]}" 2>&1); then
        end=$(now_ms)
        if [[ $mode == bwrap ]] && ! grep -q 'in the sandbox (uid ' <<<"$out"; then
            echo "sandbox.sh: $module did not build as the unprivileged user:" >&2
            grep -i sandbox <<<"$out" >&2 || true
            exit 1
        fi
        echo $((end - start))
    else
        echo failed
    fi
}

load=$(cut -d' ' -f1 /proc/loadavg)
cp -a "$repo/test/fixtures/hello-1.0" "$work/src/"
"$repo/bin/dkms" add hello/1.0 "${tree_args[@]}" >/dev/null
boxed=() open=()
for ((i = 0; i < runs; i++)); do
    boxed+=("$(build bwrap hello/1.0)")
    open+=("$(build none hello/1.0)")
done
boxed_ms=$(printf '%s\n' "${boxed[@]}" | median)
open_ms=$(printf '%s\n' "${open[@]}" | median)
echo "hello-1.0, $runs runs each, load $load"
echo "  sandboxed:   median ${boxed_ms} ms (${boxed[*]})"
echo "  unconfined:  median ${open_ms} ms (${open[*]})"
fixed=$((boxed_ms - open_ms))
echo "summary: sandbox fixed cost per build: ${fixed} ms (${boxed_ms} ms against ${open_ms} ms)"

corpus='not run'
if [[ ${BENCH_CORPUS:-1} != 0 ]]; then
    mapfile -t sources < <(bash "$repo/scripts/fetch-upstream.sh" --build-deps --quiet | awk -F'\t' '$1 != "dkms" { print $2 }')
    boxed_total=0 open_total=0 both=0 neither=0 differ=()
    for source in "${sources[@]}"; do
        base=$(basename "$source")
        "$repo/bin/dkms" add "$source" "${tree_args[@]}" >/dev/null 2>&1 || {
            echo "  $base: dkms add failed"
            continue
        }
        link=$(find "$work/tree" -mindepth 3 -maxdepth 3 -name source -lname "*/$base" | head -n 1)
        module_version=${link#"$work/tree/"}
        module_version=${module_version%/source}
        b=$(build bwrap "$module_version")
        o=$(build none "$module_version")
        echo "  $module_version: sandboxed $b ms, unconfined $o ms"
        if [[ $b == failed && $o == failed ]]; then
            neither=$((neither + 1))
        elif [[ $b == failed || $o == failed ]]; then
            differ+=("$module_version")
        else
            both=$((both + 1))
            boxed_total=$((boxed_total + b))
            open_total=$((open_total + o))
        fi
    done
    overhead=$(awk -v b="$boxed_total" -v o="$open_total" 'BEGIN { printf "%+.1f%%", (o > 0) ? 100 * (b - o) / o : 0 }')
    corpus="$both of ${#sources[@]} build both ways ($neither neither): sandboxed $((boxed_total / 1000)) s, unconfined $((open_total / 1000)) s ($overhead)"
    echo "summary: corpus: $corpus"
    if ((${#differ[@]})); then
        echo "sandbox.sh: built one way but not the other: ${differ[*]}" >&2
        exit 1
    fi
fi

[[ $record ]] || exit 0
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
row="| $(date -u +%Y-%m-%d) | $(nproc) x ${cpu:-unknown CPU}, node $(node --version), load $load | $runs | ${boxed_ms} ms | ${open_ms} ms | ${fixed} ms | $corpus |"
header='| date | machine | runs | hello sandboxed, median | hello unconfined, median | fixed cost | corpus, one build each way |'
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "Build sandbox" "$header" "$row" <<EOF
What bubblewrap costs a build ([sandbox.md](sandbox.md)): \`dkms build --force\` of the hello-1.0
fixture for $kernel with \`build_sandbox=bwrap\` (as the unprivileged user) and
\`build_sandbox=none\`, alternating, median of BENCH_RUNS runs each; the difference is the fixed
cost per build (bwrap and setpriv per step, handing the build directory over and back). Then
every corpus package of \`scripts/fetch-upstream.sh\` built once each way: how many build, and
the summed wall time of those that do. Single corpus runs on a shared machine move by several
percent either way; compare with the load.

Command: \`npm run build && BENCH_RUNS=$runs bash bench/sandbox.sh --record\`
EOF
echo "recorded in docs/benchmarks.md"
