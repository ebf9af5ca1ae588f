#!/bin/bash
# Builds the Debian package of dkms-ts from this checkout (staged, then dpkg-deb --build).
#
#   bash scripts/package-deb.sh OUTDIR      writes OUTDIR/dkms-ts_<version>_all.deb, only that
#
# Needs node_modules (npm ci: esbuild is a devDependency), dpkg-deb, gzip. What goes where and
# why is in docs/packaging.md; the maintainer scripts and control template are in
# packaging/debian/. Variables: DEB_MAINTAINER ("Name <mail>"), SOURCE_DATE_EPOCH (default: the
# last commit's time, so two builds of one commit are identical).
set -euo pipefail
# OUTDIR as the caller named it (relative to where they are), before going to the checkout
out=$(realpath -m -- "${1:?usage: scripts/package-deb.sh OUTDIR}")
cd "$(dirname "$(readlink -f "$0")")/.."

for tool in dpkg-deb gzip node; do
    command -v "$tool" >/dev/null || {
        echo "package-deb.sh: $tool is missing" >&2
        exit 1
    }
done
version=$(node -p 'require("./package.json").version')
maintainer=${DEB_MAINTAINER:-dkms-ts maintainers <dkms-ts@example.org>}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
deb=dkms-ts_${version}_all.deb

work=$(mktemp -d "${TMPDIR:-/tmp}/dkms-ts-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage

# The copyright file: ours, then each bundled npm package with its licence text (Apache-2.0
# refers to common-licenses, as policy 12.5 asks).
copyright() {
    local name version license dir file
    cat packaging/debian/copyright.head
    node -e 'for (const [p, m] of Object.entries(require("./package-lock.json").packages))
        if (p.startsWith("node_modules/") && !m.dev) console.log(p, m.version, m.license)' |
        while read -r dir version license; do
            name=${dir#node_modules/}
            file=$(find "$dir" -maxdepth 1 -type f -iregex '.*/\(licen[cs]e\|copying\)\(\.md\|\.txt\)?' | head -n 1)
            printf '\nFiles: usr/lib/dkms-ts/dkms/*.mjs usr/lib/dkms-ts/*.cjs (npm package %s %s)\n' "$name" "$version"
            printf 'Copyright: %s\n' "$( (grep -m1 -i 'copyright' "$file" 2>/dev/null || echo "the authors of $name") | sed 's/^[[:space:]]*//')"
            printf 'License: %s\n' "$license"
            if [[ $license == Apache-2.0 || -z $file ]]; then
                echo " On Debian systems the full text is in /usr/share/common-licenses/$license."
            else
                sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$file"
            fi
        done
}

# put MODE SRC DEST: one file into the staged tree.
put() { install -D -m "$1" "$2" "$stage$3"; }

# --- the code: one bundle per command ----------------------------------------------------------
bash scripts/bundle.sh "$work/bundle"
for file in dkms/start.cjs dkms/dkms.cjs dkmsd.cjs; do
    put 0644 "$work/bundle/$file" "/usr/lib/dkms-ts/$file"
done
# dkms starts through start.cjs: dkms.cjs compiled from V8's code cache (src/cli/bundleStart.cts)
declare -A main=([dkms]=dkms/start.cjs [dkmsd]=dkmsd.cjs)
# dkmsd's node flags: the same as bin/dkmsd's (why: there).
declare -A node_flags=([dkms]='' [dkmsd]='--max-semi-space-size=1 --no-opt ')
for cmd in dkms dkmsd; do
    cat >"$work/$cmd" <<SH
#!/bin/sh
# $cmd (dkms-ts). It makes no TLS connections: NODE_EXTRA_CA_CERTS would only slow node's start.
unset NODE_EXTRA_CA_CERTS
exec /usr/bin/node ${node_flags[$cmd]}/usr/lib/dkms-ts/${main[$cmd]} "\$@"
SH
    put 0755 "$work/$cmd" "/usr/sbin/$cmd"
done

# --- hooks: the shared library, the *-dkms package helper, the Debian adapters -------------------
for f in hooks/lib/*; do put 0644 "$f" "/usr/lib/dkms-ts/$f"; done
put 0755 hooks/debian/dkms-package-helper /usr/lib/dkms-ts/hooks/debian/dkms-package-helper
for hook in postinst header_postinst preinst prerm; do
    put 0755 "hooks/debian/kernel-$hook.d-dkms" "/etc/kernel/$hook.d/dkms"
done
put 0755 hooks/kernel-install/40-dkms.install /usr/lib/kernel/install.d/40-dkms.install
# What dh_dkms-made maintainer scripts and Debian's old kernel hooks call.
put 0755 hooks/debian/common.postinst /usr/lib/dkms/common.postinst
put 0755 hooks/debian/dkms_autoinstaller /usr/lib/dkms/dkms_autoinstaller
for unit in systemd/*.service systemd/*.socket; do
    put 0644 "$unit" "/usr/lib/systemd/system/${unit##*/}"
done

# --- configuration (conffiles), state directory ------------------------------------------------
put 0644 etc/dkms/framework.conf /etc/dkms/framework.conf
for f in etc/dkms/framework.conf.d/*.conf; do put 0644 "$f" "/etc/dkms/framework.conf.d/${f##*/}"; done
install -d -m 0755 "$stage/var/lib/dkms"
# dkmsd.service opens /usr/lib/modules for writing (ReadWritePaths=-/lib/modules), which
# systemd skips when it does not exist when dkmsd starts: on a system without any kernel yet
# (a container), the first kernel's modules then could not be installed.
install -d -m 0755 "$stage/usr/lib/modules"

# --- documentation -----------------------------------------------------------------------------
for page in docs/*.8; do
    install -d "$stage/usr/share/man/man8"
    gzip -9n <"$page" >"$stage/usr/share/man/man8/${page##*/}.gz"
done
for f in completion/*.bash; do
    name=${f##*/}
    put 0644 "$f" "/usr/share/bash-completion/completions/${name%.bash}"
done
doc=/usr/share/doc/dkms-ts
for f in README.md docs/*.md docs/*.json; do put 0644 "$f" "$doc/${f##*/}"; done
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@DATE@|$date|" \
    -e "s|@COMMIT@|$commit|" packaging/debian/changelog.in | gzip -9n >"$work/changelog.gz"
put 0644 "$work/changelog.gz" "$doc/changelog.gz"
copyright >"$work/copyright"
put 0644 "$work/copyright" "$doc/copyright"
put 0644 packaging/debian/lintian-overrides /usr/share/lintian/overrides/dkms-ts

# --- control area ------------------------------------------------------------------------------
install -d -m 0755 "$stage/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
install -m 0644 packaging/debian/triggers "$stage/DEBIAN/triggers"
(cd "$stage" && find etc -type f | sort | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 | sort -z |
    xargs -0 md5sum | sed 's|  \./|  |') >"$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$size|" \
    packaging/debian/control.in >"$stage/DEBIAN/control"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

# Reproducible: fixed times and modes, root-owned files.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$work/$deb" >/dev/null
mv "$work/$deb" "$out/$deb"
echo "$out/$deb"
