#!/bin/bash
# The whole test suite from a fresh checkout: set-up (packages when root), build, lint,
# typecheck, unit + integration tests with real make/depmod/modinfo, hook checks.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
echo "== typecheck"
npm run --silent typecheck
echo "== lint"
npx eslint --max-warnings=0 .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }
npm run --silent deps
echo "== hooks"
if [[ -f test/hooks/hooks-smoke.sh ]]; then bash test/hooks/hooks-smoke.sh; fi
echo "== node tests"
# dkms-ts's caches (code, evaluated dkms.conf files) of commands the tests run outside their
# sandboxes go to a directory of this run, not to /var/cache/dkms-ts
cache=$(mktemp -d "${TMPDIR:-/tmp}/dkms-ts-test-cache.XXXXXX")
trap 'rm -rf "$cache"' EXIT
export DKMS_TS_CACHE_DIR=$cache
node --test --test-concurrency=2 dist/test/
