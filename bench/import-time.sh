#!/bin/bash
# Benchmark: what each dkms command pays for its imports before it does anything. For each
# command module (src/cli/main.ts loads one per command, lazily), a fresh node imports the CLI's
# main module and then that command's module, timed inside the process (performance.now around
# the two imports); plus dkmsd's entry point. Also the wall time of a bare `node -e 0` (the
# floor under every command). Medians of BENCH_RUNS runs (default 7); "load" is the 1-minute
# load average at the start. No upstream counterpart (a bash script has no imports).
#
#   bash bench/import-time.sh [--record]
#
# A benchmark: nothing fails on a time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
default_runs=7
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
bench_init import-time.sh dist/src/cli/main.js "$@"

median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : int((t[NR / 2] + t[NR / 2 + 1]) / 2) }'; }

# import_ms MODULE...: ms a fresh node spends importing these modules, in order.
import_ms() {
    # shellcheck disable=SC2016 # JavaScript, not shell
    NODE_EXTRA_CA_CERTS='' node --input-type=module -e '
        const start = performance.now();
        for (const module of process.argv.slice(1)) await import(module);
        console.log(Math.round(performance.now() - start));
    ' "$@"
}

bare_ms() {
    local start end
    start=$(date +%s%N)
    NODE_EXTRA_CA_CERTS='' node -e 0
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

main=$repo/dist/src/cli/main.js
commands=(status add build install remove autoinstall kernelHooks tarball packages doctor generateMok match)
load=$(cut -d' ' -f1 /proc/loadavg)
echo "import time: $runs runs each, load $load"
cells=()
row_names=()
measure() {
    local name=$1 times=() i
    shift
    for ((i = 0; i < runs; i++)); do times+=("$("$@")"); done
    local ms
    ms=$(printf '%s\n' "${times[@]}" | median)
    printf '  %-22s %4d ms   (%s)\n' "$name" "$ms" "${times[*]}"
    row_names+=("$name")
    cells+=("$ms ms")
}
measure "node -e 0 (wall)" bare_ms
measure "cli/main" import_ms "$main"
for command in "${commands[@]}"; do
    measure "$command" import_ms "$main" "$repo/dist/src/commands/$command.js"
done
measure "dkmsd (daemon.js)" import_ms "$repo/dist/src/daemon/daemon.js"
echo "summary: import time: cli/main ${cells[1]}, status ${cells[2]}, install ${cells[5]}, dkmsd ${cells[-1]} (load $load)"

[[ $record ]] || exit 0
header="| date | machine | runs |$(printf ' %s |' "${row_names[@]}")"
row="| $(date -u +%Y-%m-%d) | $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), node $(node --version), load $load | $runs |$(printf ' %s |' "${cells[@]}")"
bash "$here/lib/record-section.sh" "$repo/docs/benchmarks.md" "Import time per command" "$header" "$row" <<INTRO
What a command pays for its imports before doing anything: a fresh node imports
\`dist/src/cli/main.js\` and then the command's module (\`dist/src/commands/<name>.js\`; main
loads exactly one per command, lazily), timed inside the process; dkmsd's \`daemon.js\` alone.
"node -e 0" is the wall time of a bare node, the floor under every command. Medians of
BENCH_RUNS runs.

Command: \`npm run build && bash bench/import-time.sh --record\`
INTRO
echo "recorded in docs/benchmarks.md"
