#!/bin/bash
# Bundles the two entry points with esbuild (a pinned devDependency): no node_modules next to
# them.
#
#   bash scripts/bundle.sh OUTDIR        writes OUTDIR/dkms/{start,dkms}.cjs and OUTDIR/dkmsd.cjs
#
# Both programs are one CommonJS file each: node 20 compiles one large CommonJS file faster than
# the same code as ES modules, and V8 parses the functions a command never calls only lazily.
# dkms starts through dkms/start.cjs (src/cli/bundleStart.cts), which compiles dkms.cjs from V8's
# code cache kept in /var/cache/dkms-ts (docs/benchmarks.md, "Bundled start-up"); dkmsd starts
# once and runs most of its code, and a code cache would only add to its RSS. Both ASCII without
# whitespace or comments: a non-ASCII character anywhere in a file makes node keep its whole
# source as a two-byte string. The bundles carry package.json's version (src/core/version.ts
# reads DKMS_TS_BUNDLED_VERSION when it is defined, package.json otherwise, as the unbundled
# dist/ does).
set -euo pipefail
# OUTDIR as the caller named it (relative to where they are), before going to the checkout
out=$(realpath -m -- "${1:?usage: scripts/bundle.sh OUTDIR}")
cd "$(dirname "$(readlink -f "$0")")/.."

esbuild=node_modules/.bin/esbuild
[[ -x $esbuild ]] || {
    echo "bundle.sh: $esbuild is missing: run npm ci first" >&2
    exit 1
}
version=$(node -p 'require("./package.json").version')
# version.ts's package.json branch (its import.meta) is dead code once the version is defined:
# its warning is silenced.
common=(--bundle --platform=node --target=node20.19 --define:DKMS_TS_BUNDLED_VERSION="\"$version\""
    --log-override:empty-import-meta=silent --legal-comments=eof --charset=ascii
    --minify-whitespace --log-level=warning)
rm -rf "$out/dkms" "$out/dkmsd.cjs"
mkdir -p "$out"
"$esbuild" src/cli/dkms.ts "${common[@]}" --format=cjs --outfile="$out/dkms/dkms.cjs"
"$esbuild" src/cli/bundleStart.cts "${common[@]}" --format=cjs --outfile="$out/dkms/start.cjs"
"$esbuild" src/daemon/cli.ts "${common[@]}" --format=cjs --outfile="$out/dkmsd.cjs"
