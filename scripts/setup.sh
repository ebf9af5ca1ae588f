#!/bin/bash
# Sets up everything dkms-ts needs on a Debian machine: system packages (when root and
# missing), node modules, and the build. Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

# Kernel headers the tests build against, and the tools the tests run for real.
PACKAGES=(
  linux-headers-6.1.0-47-amd64 linux-headers-6.1.0-50-amd64
  kmod build-essential bc patch openssl xz-utils zstd gzip cpio
  systemd rpm initramfs-tools-core shellcheck dpkg-dev bubblewrap
  # The Debian package and its system tests (test/system/): lintian; a Debian 13 container
  # booted with systemd; a real kernel under qemu.
  lintian mmdebstrap systemd-container qemu-system-x86 linux-image-6.1.0-47-amd64
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages (run as root to install them): ${missing[*]}" >&2
  fi
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: npm run build"
npm run --silent build
