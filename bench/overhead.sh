#!/bin/bash
# Benchmark: what each dkms action costs outside make, ours (the packaged bundle: what
# scripts/bundle.sh makes and /usr/sbin/dkms runs) against Debian's dkms (sid's:
# scripts/fetch-upstream.sh) in the same run.
# The module is v4l2loopback-dkms (its dkms.conf sources the kernel's
# .config: 10k shell variables), for 6.1.0-47-amd64 (real headers), in a sandbox per side:
#   add, build, install (already built), uninstall, remove --all, install (add, then build and
#   install in one command), autoinstall with nothing to do, and `dkms status` over 30 modules
#   that are only added (a second sandbox, the same for both sides; the outputs must match).
# Overhead = wall time minus the time spent in the top-level build make (a `make` first on PATH
# times each call that carries KERNELRELEASE= and is not nested, then runs the real make).
# Signing is off on both sides (an `openssl` first on PATH that fails: no MOK key can be made).
# Our builds run without the build sandbox (build_sandbox=none in --confdir's framework.conf):
# inside bwrap the timing make is out of sight (a private /tmp) and the whole make would count
# as overhead; what the sandbox adds per build is bench/sandbox.sh's "fixed cost".
# Ours starts as /usr/sbin/dkms does, through the bundle's start.cjs (V8's code cache, written by
# an untimed first round). Medians of BENCH_RUNS runs (default 3), the two sides alternating; "load" is the 1-minute load
# average at the start. Goal (issue 12): every ratio ours/upstream at most 1.0.
#
#   bash bench/overhead.sh [--record]
#
# A benchmark: nothing fails on a time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
default_runs=3
kernel=6.1.0-47-amd64
added=30
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init overhead.sh dist/src/cli/dkms.js "$@"
[[ -f /usr/src/linux-headers-$kernel/Makefile ]] || {
    echo "overhead.sh: needs linux-headers-$kernel" >&2
    exit 1
}

fetched=$(bash "$repo/scripts/fetch-upstream.sh" --quiet dkms v4l2loopback-dkms)
upstream=$(awk -F'\t' '$1 == "dkms" { print $2 }' <<<"$fetched")
# BENCH_UPSTREAM: another dkms script to compare with (e.g. Debian 12's 3.0.10, extracted)
upstream=${BENCH_UPSTREAM:-$upstream}
upstream_v=$(upstream_version "$upstream")
source=$(awk -F'\t' '$1 == "v4l2loopback-dkms" { print $2 }' <<<"$fetched")
module=v4l2loopback
version=${source##*/v4l2loopback-}
work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-bench-overhead.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$repo/scripts/bundle.sh" "$work/bundle"

# The timing make: a wrapper first on PATH for both sides.
mkdir -p "$work/bin"
real_make=$(command -v make)
cat >"$work/bin/make" <<MAKE
#!/bin/bash
case " \$* " in *" KERNELRELEASE="*) [[ -z \${MAKELEVEL:-} ]] && timed=1 ;; esac
[[ \${timed:-} ]] || exec $real_make "\$@"
start=\$(date +%s%N)
$real_make "\$@"
status=\$?
echo \$((\$(date +%s%N) - start)) >>"\$DKMS_BENCH_MAKE_TIMES"
exit \$status
MAKE
chmod +x "$work/bin/make"
# No module signing on either side: upstream would try (and here fail) to make a MOK key under
# /var/lib/dkms at every build, ours once per sandbox; an openssl that fails at once makes both
# skip signing the same way.
printf '#!/bin/sh\nexit 1\n' >"$work/bin/openssl"
chmod +x "$work/bin/openssl"
export PATH="$work/bin:$PATH"

# sandbox DIR: trees with the kernel and the module's source in the source tree.
sandbox() {
    rm -rf "$1"
    mkdir -p "$1/src" "$1/tree" "$1/lib/modules/$kernel"
    ln -s "/usr/src/linux-headers-$kernel" "$1/lib/modules/$kernel/build"
    cp -a "$source" "$1/src/"
    mkdir -p "$1/etc"
    echo 'build_sandbox=none' >"$1/etc/framework.conf"
}

# dkms SIDE DIR ARGS...: one command of one side.
dkms() {
    local side=$1 dir=$2
    shift 2
    local trees=(--dkmstree "$dir/tree" --sourcetree "$dir/src" --installtree "$dir/lib/modules")
    if [[ $side == ours ]]; then
        NODE_EXTRA_CA_CERTS='' DKMS_TS_CACHE_DIR=$work/code-cache \
            node "$work/bundle/dkms/start.cjs" "$@" "${trees[@]}" --confdir "$dir/etc"
    else
        run_upstream "$upstream" "$@" "${trees[@]}"
    fi
}

# overhead SIDE DIR ARGS...: ms outside the build make of one command (its output: $work/out).
overhead() {
    local start end made
    : >"$work/make.times"
    start=$(date +%s%N)
    DKMS_BENCH_MAKE_TIMES=$work/make.times dkms "$@" >"$work/out" 2>&1 || {
        echo "overhead.sh: $1: dkms ${*:3} failed:" >&2
        cat "$work/out" >&2
        exit 1
    }
    end=$(date +%s%N)
    made=$(awk '{ s += $1 } END { print s + 0 }' "$work/make.times")
    echo $(((end - start - made) / 1000000))
}

# A second sandbox: modules that are only added (a source dir and the tree's source link).
status_root=$work/status
mkdir -p "$status_root/src" "$status_root/tree" "$status_root/lib/modules/$kernel"
for ((i = 1; i <= added; i++)); do
    m=added$i
    mkdir -p "$status_root/src/$m-1.0" "$status_root/tree/$m/1.0"
    printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="%s"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nAUTOINSTALL="yes"\n' \
        "$m" "$m" >"$status_root/src/$m-1.0/dkms.conf"
    ln -s "$status_root/src/$m-1.0" "$status_root/tree/$m/1.0/source"
done

actions=(add build install uninstall remove install-with-build autoinstall-no-op "status, $added added")
declare -A times
# one_run SIDE: every action once, in order, on a fresh sandbox.
one_run() {
    local side=$1 dir=$work/$1 ref=$module/$version
    sandbox "$dir"
    times[$side:add]+=" $(overhead "$side" "$dir" add "$ref")"
    times[$side:build]+=" $(overhead "$side" "$dir" build "$ref" -k "$kernel")"
    times[$side:install]+=" $(overhead "$side" "$dir" install "$ref" -k "$kernel")"
    times[$side:uninstall]+=" $(overhead "$side" "$dir" uninstall "$ref" -k "$kernel")"
    times[$side:remove]+=" $(overhead "$side" "$dir" remove "$ref" --all)"
    dkms "$side" "$dir" add "$ref" >/dev/null 2>&1
    times[$side:install-with-build]+=" $(overhead "$side" "$dir" install "$ref" -k "$kernel")"
    times[$side:autoinstall-no-op]+=" $(overhead "$side" "$dir" autoinstall -k "$kernel")"
    times[$side:status, $added added]+=" $(overhead "$side" "$status_root" status)"
    cp "$work/out" "$work/status-$side.txt"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }

load=$(cut -d' ' -f1 /proc/loadavg)
echo "overhead outside make: $module $version on $kernel, $runs runs each, load $load"
# An untimed round writes our code cache of each command (/var/cache/dkms-ts on a real system,
# written by the first dkms command that runs as root; here in the work directory).
one_run ours
for action in "${actions[@]}"; do times[ours:$action]=; done
for ((i = 0; i < runs; i++)); do
    one_run ours
    one_run upstream
done
if ! cmp -s "$work/status-ours.txt" "$work/status-upstream.txt"; then
    echo "overhead.sh: dkms status outputs differ (upstream / ours):" >&2
    diff "$work/status-upstream.txt" "$work/status-ours.txt" >&2 || true
    exit 1
fi

cells=() worst=0
for action in "${actions[@]}"; do
    o=$(median <<<"${times[ours:$action]}")
    u=$(median <<<"${times[upstream:$action]}")
    ratio=$(awk -v o="$o" -v u="$u" 'BEGIN { printf "%.2f", (u > 0) ? o / u : 0 }')
    worst=$(awk -v a="$worst" -v b="$ratio" 'BEGIN { print (b > a) ? b : a }')
    printf '  %-24s ours %5d ms   upstream %5d ms   ours/upstream %s   (ours:%s; upstream:%s)\n' \
        "$action" "$o" "$u" "$ratio" "${times[ours:$action]}" "${times[upstream:$action]}"
    cells+=("$o / $u ms ($ratio)")
done
echo "summary: overhead outside make, worst ours/upstream ratio $worst (load $load)"

[[ $record ]] || exit 0
header="| date | machine | runs |$(printf ' %s |' "${actions[@]}")"
row="| $(date -u +%Y-%m-%d) | $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), node $(node --version), load $load, upstream dkms $upstream_v | $runs |$(printf ' %s |' "${cells[@]}")"
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "dkms actions: overhead outside make" "$header" "$row" <<INTRO
What each action costs besides the build's own make, ours (the packaged bundle of
\`scripts/bundle.sh\`, run by node as /usr/sbin/dkms runs it; since the load 0.45 row through
its start.cjs from V8's code cache, written by an untimed first round) against Debian's dkms (scripts/fetch-upstream.sh: sid's, the release closest to 3.4.3 that Debian ships; each row's machine column names its version; rows before 2026-11-30: Debian 12's 3.0.10) in
the same run, the two sides alternating: wall time minus the time spent in the top-level build
\`make\` (a timing \`make\` first on PATH), signing off on both sides (a failing \`openssl\`
first on PATH: no MOK key), our build sandbox off (inside it the timing \`make\` is out of
sight; what the sandbox adds to a build is in "Build sandbox").
Module: $module-dkms $version, whose dkms.conf sources the kernel's .config (10k shell
variables), for $kernel. "install" installs what is built;
"install-with-build" adds, then builds and installs in one command; "autoinstall-no-op" finds
everything installed; "status" lists $added modules that are only added (the outputs must be
identical). Each cell: ours / upstream median ms (ratio). Goal
(issue 12): every ratio at most 1.0.

Command: \`npm run build && bash bench/overhead.sh --record\`
INTRO
echo "recorded in docs/benchmarks.md"
