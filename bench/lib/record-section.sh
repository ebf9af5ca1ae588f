#!/bin/bash
# Write one benchmark's section of docs/benchmarks.md, keeping every other section as it is.
#
#   bench/lib/record-section.sh FILE HEADING TABLE_HEADER ROW <INTRO
#
# The section `## HEADING` (up to the next `## ` heading) becomes: INTRO (stdin), then a table
# with TABLE_HEADER (`| a | b |`), the rows the section already had (lines starting with
# `| <yyyy-mm-dd>`), and ROW last. A missing FILE or section is created.
set -euo pipefail

(($# == 4)) || {
    echo "usage: $0 FILE HEADING TABLE_HEADER ROW <INTRO" >&2
    exit 2
}
file=$1 heading=$2 header=$3 row=$4
intro=$(cat)

if [[ ! -f $file ]]; then
    mkdir -p "$(dirname "$file")"
    cat >"$file" <<'EOF'
# Benchmarks

Figures measured with the scripts in `bench/` (`npm run bench` runs them all). Each section
belongs to one script, which rewrites it when run with `--record`; rows accumulate, newest last.
Benchmarks report times, they never fail because of one.
EOF
fi

old_rows=$(awk -v h="## $heading" '
    $0 == h { inside = 1; next }
    inside && /^## / { inside = 0 }
    inside && /^\| [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { print }
' "$file")
columns=$(($(tr -cd '|' <<<"$header" | wc -c) - 1))
separator="|$(printf ' --- |%.0s' $(seq "$columns"))"

section=$(mktemp)
trap 'rm -f "$section" "$section.new"' EXIT
{
    echo "## $heading"
    echo
    echo "$intro"
    echo
    echo "$header"
    echo "$separator"
    [[ $old_rows ]] && echo "$old_rows"
    echo "$row"
} >"$section"

# Replace the old section in place, or append the new one at the end.
awk -v h="## $heading" -v sectionfile="$section" '
    function emit(  line) { while ((getline line < sectionfile) > 0) print line; done = 1 }
    $0 == h { skipping = 1; emit(); next }
    skipping && /^## / { skipping = 0; print "" }
    skipping { next }
    { print }
    END { if (!done) { print ""; emit() } }
' "$file" >"$section.new"
mv "$section.new" "$file"
