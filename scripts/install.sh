#!/bin/bash
# Install dkms-ts from a built checkout (npm ci && npm run build first).
#
#   [DESTDIR=/stage] [PREFIX=/usr] scripts/install.sh
#
# Installs the built code under $PREFIX/lib/dkms-ts, the dkms and dkmsd commands in $PREFIX/sbin,
# the kernel hooks of every package manager, the systemd units, docs, and framework.conf when
# there is none. Files it would overwrite are moved aside and put back by uninstall.sh. Every
# file and directory it creates is listed in $PREFIX/lib/dkms-ts/MANIFEST for uninstall.sh.
#
# Variables (defaults for PREFIX=/usr; hook directories other tools read from, outside PREFIX,
# move to /etc when PREFIX is not /usr):
#   DESTDIR=                  staging root, prepended to every path written
#   PREFIX=/usr
#   SYSCONFDIR=/etc           /etc/kernel/*.d hooks, /etc/dkms/framework.conf
#   UNITDIR=$PREFIX/lib/systemd/system
#   KERNELINSTALLDIR=/usr/lib/kernel/install.d      (else $SYSCONFDIR/kernel/install.d)
#   ALPMHOOKDIR=$PREFIX/share/libalpm/hooks         (else $SYSCONFDIR/pacman.d/hooks)
#   COMPATDIR=/usr/lib/dkms   common.postinst for upstream-built *-dkms packages (else none)
#   NODE=$(command -v node)   the node the dkms/dkmsd commands run
set -euo pipefail

die() {
    echo "install.sh: $*" >&2
    exit 1
}

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
PREFIX=${PREFIX%/}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
if [ "$PREFIX" = /usr ]; then
    KERNELINSTALLDIR=${KERNELINSTALLDIR:-/usr/lib/kernel/install.d}
    ALPMHOOKDIR=${ALPMHOOKDIR:-/usr/share/libalpm/hooks}
    COMPATDIR=${COMPATDIR-/usr/lib/dkms}
else
    KERNELINSTALLDIR=${KERNELINSTALLDIR:-$SYSCONFDIR/kernel/install.d}
    ALPMHOOKDIR=${ALPMHOOKDIR:-$SYSCONFDIR/pacman.d/hooks}
    COMPATDIR=${COMPATDIR-}
fi
LIBDIR=$PREFIX/lib/dkms-ts
BACKUPDIR=$PREFIX/lib/dkms-ts-backup
MANIFEST=$DESTDIR$LIBDIR/MANIFEST
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/early"

# --- checks before anything is written ---------------------------------------------------------
[ -d "$SRCDIR/dist" ] ||
    die "no dist/ in $SRCDIR: build first with: npm ci && npm run build"
for f in dist/src/cli/dkms.js dist/src/daemon/cli.js bin/dkms bin/dkmsd package.json package-lock.json etc/dkms/framework.conf; do
    [ -e "$SRCDIR/$f" ] || die "$SRCDIR/$f is missing: rebuild with: npm ci && npm run build"
done
[ -d "$SRCDIR/node_modules" ] ||
    die "no node_modules/ in $SRCDIR: install the dependencies with: npm ci && npm run build"
NODE=${NODE:-$(command -v node || :)}
if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then
    die "node not found (node >= 20.19 is needed; or set NODE=/path/to/node)"
fi
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "$NODE is node $node_major; node >= 20.19 is needed"

if [ -f "$MANIFEST" ]; then
    echo "install.sh: replacing the installation listed in $MANIFEST"
    # REINSTALL: keep the units enabled and the daemon running; it is restarted at the end.
    DESTDIR=$DESTDIR PREFIX=$PREFIX QUIET=1 REINSTALL=1 bash "$SRCDIR/scripts/uninstall.sh"
fi
[ ! -e "$DESTDIR$LIBDIR" ] ||
    die "$DESTDIR$LIBDIR exists but has no MANIFEST; remove it first (rm -r $DESTDIR$LIBDIR)"

# --- recording helpers -------------------------------------------------------------------------
# MANIFEST lines: "d DIR" created directory, "f FILE" installed file, "b FILE" original moved to
# $BACKUPDIR/FILE, "c SHA256 FILE" config file created (removed only while unchanged).
# Lines recorded before MANIFEST exists (the parents of $LIBDIR) wait in $tmp/early.
record() {
    if [ -f "$MANIFEST" ]; then
        printf '%s\n' "$*" >>"$MANIFEST"
    else
        printf '%s\n' "$*" >>"$tmp/early"
    fi
}

# mkdirs DIR: create DIR and its missing parents, recording each one created.
mkdirs() {
    local dir=$1
    [ -d "$DESTDIR$dir" ] && return 0
    [ "$dir" = / ] || mkdirs "$(dirname "$dir")"
    mkdir "$DESTDIR$dir"
    record "d $dir"
}

# Rewrites the default paths in hooks and units when PREFIX is not /usr.
subst() {
    sed -e "s|/usr/lib/dkms-ts/|$LIBDIR/|g" \
        -e "s|/usr/sbin/dkms|$PREFIX/sbin/dkms|g" \
        -e "s|^dkms_hook_sbindir=/usr/sbin\$|dkms_hook_sbindir=$PREFIX/sbin|" \
        -e "s|/usr/share/doc/dkms-ts|$PREFIX/share/doc/dkms-ts|g" "$1"
}

# put MODE SRC DEST [subst]: install one file, moving aside a file already there.
put() {
    local mode=$1 src=$2 dest=$3
    mkdirs "$(dirname "$dest")"
    if [ -e "$DESTDIR$dest" ] || [ -L "$DESTDIR$dest" ]; then
        mkdirs "$(dirname "$BACKUPDIR$dest")"
        mv "$DESTDIR$dest" "$DESTDIR$BACKUPDIR$dest"
        record "b $dest"
        echo "install.sh: moved the existing $dest to $BACKUPDIR$dest"
    fi
    if [ "${4:-}" = subst ]; then
        subst "$src" >"$DESTDIR$dest"
        chmod "$mode" "$DESTDIR$dest"
    else
        install -m "$mode" "$src" "$DESTDIR$dest"
    fi
    record "f $dest"
}

# copytree SRC DEST [EXCLUDED-NAME...]: copy a directory's content, recording all of it.
copytree() {
    local src=$1 dest=$2 entry name
    shift 2
    mkdirs "$dest"
    for entry in "$src"/* "$src"/.[!.]*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        name=${entry##*/}
        case " $* " in *" $name "*) continue ;; esac
        cp -R "$entry" "$DESTDIR$dest/"
        find "$DESTDIR$dest/$name" -type d -printf "d $dest/$name/%P\n" -o -printf "f $dest/$name/%P\n" |
            sed 's|/$||' >>"$MANIFEST"
    done
}

# --- the code ----------------------------------------------------------------------------------
mkdirs "$LIBDIR"
cat "$tmp/early" >"$MANIFEST"

put 0644 "$SRCDIR/package.json" "$LIBDIR/package.json"
put 0644 "$SRCDIR/package-lock.json" "$LIBDIR/package-lock.json"
put 0755 "$SRCDIR/bin/dkms" "$LIBDIR/bin/dkms"
put 0755 "$SRCDIR/bin/dkmsd" "$LIBDIR/bin/dkmsd"
# Compiled tests stay behind.
copytree "$SRCDIR/dist" "$LIBDIR/dist" test tsconfig.tsbuildinfo tsconfig.build.tsbuildinfo

# Production dependencies only: the lockfile's non-dev entries, each without its nested
# node_modules (those are entries of their own).
"$NODE" -e '
const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!lock.packages) { console.error("install.sh: package-lock.json has no \"packages\" (npm >= 7 lockfile needed)"); process.exit(1); }
for (const [path, meta] of Object.entries(lock.packages))
  if (path.startsWith("node_modules/") && !meta.dev && !meta.link) console.log(path);
' "$SRCDIR/package-lock.json" >"$tmp/deps"
while IFS= read -r dep; do
    # Optional dependencies for other platforms are not in node_modules: nothing to copy.
    [ -d "$SRCDIR/$dep" ] || continue
    copytree "$SRCDIR/$dep" "$LIBDIR/$dep" node_modules
done <"$tmp/deps"

(cd "$SRCDIR/hooks" && find . -type f | sort) >"$tmp/hooks"
while IFS= read -r f; do
    f=${f#./}
    mode=0644
    if [ -x "$SRCDIR/hooks/$f" ]; then mode=0755; fi
    put "$mode" "$SRCDIR/hooks/$f" "$LIBDIR/hooks/$f" subst
done <"$tmp/hooks"

# The commands find node on PATH; hooks run with a minimal PATH, so put the node found now first.
for cmd in dkms dkmsd; do
    cat >"$tmp/$cmd" <<EOF
#!/bin/sh
# $cmd from dkms-ts (installed by scripts/install.sh)
PATH=$(dirname "$NODE"):\$PATH
export PATH
exec $LIBDIR/bin/$cmd "\$@"
EOF
    put 0755 "$tmp/$cmd" "$PREFIX/sbin/$cmd"
done

# --- hooks -------------------------------------------------------------------------------------
for hook in postinst header_postinst preinst prerm; do
    put 0755 "$SRCDIR/hooks/debian/kernel-$hook.d-dkms" "$SYSCONFDIR/kernel/$hook.d/dkms" subst
done
put 0755 "$SRCDIR/hooks/kernel-install/40-dkms.install" "$KERNELINSTALLDIR/40-dkms.install" subst
for f in "$SRCDIR"/hooks/pacman/*.hook; do
    put 0644 "$f" "$ALPMHOOKDIR/${f##*/}" subst
done
if [ -n "$COMPATDIR" ]; then
    put 0755 "$SRCDIR/hooks/debian/common.postinst" "$COMPATDIR/common.postinst" subst
    put 0755 "$SRCDIR/hooks/debian/dkms_autoinstaller" "$COMPATDIR/dkms_autoinstaller" subst
fi

for unit in dkmsd.service dkmsd.socket dkmsd-status.socket; do
    put 0644 "$SRCDIR/systemd/$unit" "$UNITDIR/$unit" subst
done

# --- docs, completion, configuration -----------------------------------------------------------
for page in dkms.8 dkmsd.8; do
    if [ -f "$SRCDIR/docs/$page" ]; then
        put 0644 "$SRCDIR/docs/$page" "$PREFIX/share/man/man8/$page"
    fi
done
for doc in "$SRCDIR"/docs/*.md; do
    if [ -f "$doc" ]; then put 0644 "$doc" "$PREFIX/share/doc/dkms-ts/${doc##*/}"; fi
done
for cmd in dkms dkmsd; do
    if [ -f "$SRCDIR/completion/$cmd.bash" ]; then
        put 0644 "$SRCDIR/completion/$cmd.bash" "$PREFIX/share/bash-completion/completions/$cmd"
    fi
done

conf=$SYSCONFDIR/dkms/framework.conf
if [ ! -e "$DESTDIR$conf" ]; then
    mkdirs "$(dirname "$conf")"
    install -m 0644 "$SRCDIR/etc/dkms/framework.conf" "$DESTDIR$conf"
    record "c $(sha256sum <"$DESTDIR$conf" | cut -d' ' -f1) $conf"
fi

# dkms 3.4 ships the drop-in directory (framework.conf.d/*.conf are read after framework.conf)
mkdirs "$SYSCONFDIR/dkms/framework.conf.d"

# --- the running system ------------------------------------------------------------------------
if [ -z "$DESTDIR" ]; then
    if command -v dpkg-query >/dev/null &&
        [ "$(dpkg-query -W -f='${Status}' dkms 2>/dev/null)" = "install ok installed" ]; then
        echo "install.sh: note: Debian's dkms package is installed; the files of it replaced here are in $BACKUPDIR and uninstall.sh puts them back."
    fi
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload || :
        systemctl try-restart dkmsd.service || :
    fi
fi
echo "install.sh: installed dkms-ts in $DESTDIR$PREFIX ($(grep -c '^f ' "$MANIFEST") files, listed in $MANIFEST)"
[ -n "$DESTDIR" ] || echo "install.sh: to start the daemon: systemctl enable --now dkmsd.socket dkmsd-status.socket dkmsd.service"
