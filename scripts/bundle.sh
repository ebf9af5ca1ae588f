#!/bin/bash
# Bundles the two entry points with esbuild (a pinned devDependency): no node_modules next to
# them.
#
#   bash scripts/bundle.sh OUTDIR        writes OUTDIR/dkms/dkms.mjs (and its chunks) and
#                                        OUTDIR/dkmsd.cjs
#
# dkms: ES modules split by command (--splitting): `dkms status` reads and compiles the 70 kB
# it runs, not the whole program (510 kB); the chunks are shared between commands. dkmsd: one
# CommonJS file, since the daemon runs most of its code anyway and node 20 compiles one large
# CommonJS file faster than the same code as ES modules (docs/benchmarks.md, "Bundled
# start-up"). Both ASCII without whitespace or comments: a non-ASCII character anywhere in a
# file makes node keep its whole source as a two-byte string. The bundles carry package.json's
# version (src/core/version.ts reads DKMS_TS_BUNDLED_VERSION when it is defined, package.json
# otherwise, as the unbundled dist/ does).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

out=${1:?usage: scripts/bundle.sh OUTDIR}
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
# The CommonJS packages bundled in (cross-spawn...) call require(): ES modules get one.
"$esbuild" src/cli/dkms.ts "${common[@]}" --format=esm --splitting --outdir="$out/dkms" \
    --entry-names='[name]' --chunk-names='[name]-[hash]' --out-extension:.js=.mjs \
    --banner:js="import{createRequire}from'node:module';const require=createRequire(import.meta.url);"
"$esbuild" src/daemon/cli.ts "${common[@]}" --format=cjs --outfile="$out/dkmsd.cjs"
