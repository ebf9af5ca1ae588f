#!/bin/bash
# Bundles each entry point into one self-contained CommonJS file with esbuild (a pinned
# devDependency): no node_modules next to it, one file for node to read and compile.
#
#   bash scripts/bundle.sh OUTDIR        writes OUTDIR/dkms.cjs and OUTDIR/dkmsd.cjs
#
# The bundles carry package.json's version (src/core/version.ts reads DKMS_TS_BUNDLED_VERSION
# when it is defined, package.json otherwise, as the unbundled dist/ does). CommonJS, not ESM:
# node 20 compiles one large CommonJS file faster than the same code as an ES module (see
# docs/benchmarks.md, "Bundled start-up").
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

out=${1:?usage: scripts/bundle.sh OUTDIR}
esbuild=node_modules/.bin/esbuild
[[ -x $esbuild ]] || {
    echo "bundle.sh: $esbuild is missing: run npm ci first" >&2
    exit 1
}
version=$(node -p 'require("./package.json").version')
mkdir -p "$out"
for entry in dkms:src/cli/dkms.ts dkmsd:src/daemon/cli.ts; do
    # version.ts's package.json branch (the only import.meta) is dead code once the version
    # is defined: its warning is silenced.
    "$esbuild" "${entry#*:}" --bundle --platform=node --target=node20.19 --format=cjs \
        --define:DKMS_TS_BUNDLED_VERSION="\"$version\"" --log-override:empty-import-meta=silent \
        --legal-comments=eof --charset=ascii --minify-whitespace --log-level=warning --outfile="$out/${entry%%:*}.cjs"
done
