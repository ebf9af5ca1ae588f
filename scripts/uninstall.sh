#!/bin/bash
# Remove what scripts/install.sh installed, as listed in $DESTDIR$PREFIX/lib/dkms-ts/MANIFEST:
# its files and the directories it created, and put back the files it had moved aside.
# /etc/dkms/framework.conf stays when it was edited since.
#
#   [DESTDIR=/stage] [PREFIX=/usr] scripts/uninstall.sh
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
PREFIX=${PREFIX%/}
LIBDIR=$PREFIX/lib/dkms-ts
BACKUPDIR=$PREFIX/lib/dkms-ts-backup
MANIFEST=$DESTDIR$LIBDIR/MANIFEST

say() {
    [ -n "${QUIET:-}" ] || echo "uninstall.sh: $*"
}

if [ ! -f "$MANIFEST" ]; then
    echo "uninstall.sh: no $MANIFEST: nothing was installed with PREFIX=$PREFIX${DESTDIR:+ DESTDIR=$DESTDIR}" >&2
    exit 1
fi

# REINSTALL=1 (from install.sh): the units stay enabled; install.sh restarts the daemon.
live_systemd=
if [ -z "$DESTDIR" ] && [ -z "${REINSTALL:-}" ] && [ -d /run/systemd/system ] &&
    command -v systemctl >/dev/null; then
    live_systemd=1
    # Stop the daemon before its code goes away.
    if grep -q '^f .*/dkmsd\.service$' "$MANIFEST"; then
        systemctl disable --now dkmsd.socket dkmsd-status.socket dkmsd.service >/dev/null 2>&1 || :
    fi
fi

# Files, in one rm per batch rather than one per file (node_modules has thousands).
awk -v d="$DESTDIR" '/^f / { print d substr($0, 3) }' "$MANIFEST" | tr '\n' '\0' |
    xargs -0 -r rm -f --

# framework.conf and the like: only while still as installed.
while read -r kind sum path; do
    [ "$kind" = c ] || continue
    if [ "$(sha256sum <"$DESTDIR$path" 2>/dev/null | cut -d' ' -f1)" = "$sum" ]; then
        rm -f "$DESTDIR$path"
    elif [ -e "$DESTDIR$path" ]; then
        say "kept $path: it was changed since it was installed"
    fi
done <"$MANIFEST"

# Originals that install.sh moved aside.
while IFS= read -r line; do
    case $line in "b "*) ;; *) continue ;; esac
    path=${line#b }
    if [ -e "$DESTDIR$BACKUPDIR$path" ] || [ -L "$DESTDIR$BACKUPDIR$path" ]; then
        mkdir -p "$(dirname "$DESTDIR$path")"
        mv "$DESTDIR$BACKUPDIR$path" "$DESTDIR$path"
        say "put back $path"
    fi
done <"$MANIFEST"

# Directories, deepest first (the reverse of their creation); one still holding something that
# is not ours stays.
dirs=$(awk -v d="$DESTDIR" '/^d / { print d substr($0, 3) }' "$MANIFEST" | tac)
rm -f "$MANIFEST"
while IFS= read -r dir; do
    if [ -n "$dir" ]; then rmdir "$dir" 2>/dev/null || :; fi
done <<<"$dirs"
[ -z "$live_systemd" ] || systemctl daemon-reload || :
say "removed dkms-ts from $DESTDIR$PREFIX"
