#!/bin/bash
# Run every benchmark in bench/ (each bench/*.sh but this one, in name order) and print a
# summary: per benchmark its exit status, wall time and the `summary:` lines it printed.
#
#   bash bench/run.sh [ARGS...]      (npm run bench -- [ARGS...])
#
# ARGS (e.g. --record) are passed to every benchmark. Exit status 1 if any benchmark failed.
# Convention for benchmark scripts: print the headline figures on lines starting `summary: `.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self=$(basename "$0")
results=()
failed=0

for bench in "$here"/*.sh; do
    name=$(basename "$bench")
    [[ $name == "$self" ]] && continue
    echo "=== $name $*"
    log=$(mktemp)
    start=$(date +%s)
    bash "$bench" "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    seconds=$(($(date +%s) - start))
    summary=$(sed -n 's/^summary: //p' "$log")
    rm -f "$log"
    if ((status == 0)); then
        results+=("$name: ok (${seconds} s)${summary:+$'\n'    }${summary//$'\n'/$'\n'    }")
    else
        results+=("$name: FAILED, exit $status (${seconds} s)")
        failed=1
    fi
done

echo
echo "=== summary"
if ((${#results[@]} == 0)); then
    echo "no benchmarks in $here"
else
    printf '%s\n' "${results[@]}"
fi
exit $failed
