#!/bin/bash
# Fetch the references the compatibility tests and benchmarks compare against: Debian sid's
# dkms (the bash script, never installed; the release closest to dkms 3.4.3 that Debian ships)
# and the Debian *-dkms corpus packages (their sources, from the machine's own sources).
#
#   scripts/fetch-upstream.sh [--build-deps] [--quiet] [PACKAGE...]
#
# PACKAGE defaults to dkms and all corpus packages of shared/reference/corpus.md. Each one is
# fetched with `apt-get download` into $CACHE/debs and unpacked with `dpkg-deb -x` into
# $CACHE/root/<package>; what is already there is kept, so a second run does nothing.
# dkms comes from sid through a private source list and package lists under $CACHE/sid
# (the machine's own apt sources are never changed).
# --build-deps also installs (apt-get, as root) what the corpus packages declare in Depends
# besides dkms, e.g. libxtables-dev for iptables-netflow-dkms.
#
# Prints one line per package, tab-separated, for scripts and tests to read:
#   dkms                <CACHE>/root/dkms/usr/sbin/dkms
#   <corpus package>    <CACHE>/root/<package>/usr/src/<name>-<version>
# Messages go to stderr (none with --quiet). Exit status 1 if a package could not be fetched.
#
# Environment: DKMS_TS_CACHE (default /var/cache/dkms-ts-test).
set -euo pipefail

CORPUS=(acpi-call-dkms adv-17v35x-dkms apfs-dkms bbswitch-dkms ddcci-dkms dm-writeboost-dkms
    dpdk-kmods-dkms falcosecurity-scap-dkms iptables-netflow-dkms jool-dkms langford-dkms
    lime-forensics-dkms lttng-modules-dkms nat-rtsp-dkms openrazer-driver-dkms
    rtpengine-kernel-dkms tp-smapi-dkms v4l2loopback-dkms vpoll-dkms xtrx-dkms)

CACHE=${DKMS_TS_CACHE:-/var/cache/dkms-ts-test}
build_deps=
quiet=
packages=()
for arg in "$@"; do
    case $arg in
        --build-deps) build_deps=1 ;;
        --quiet) quiet=1 ;;
        -h | --help)
            sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        -*)
            echo "fetch-upstream.sh: unknown option $arg" >&2
            exit 2
            ;;
        *) packages+=("$arg") ;;
    esac
done
((${#packages[@]})) || packages=(dkms "${CORPUS[@]}")

say() { [[ $quiet ]] || echo "fetch-upstream.sh: $*" >&2; }

mkdir -p "$CACHE/debs" "$CACHE/root"
# Two test runs sharing the cache must not unpack into the same directory at once.
exec 9>"$CACHE/.lock"
flock 9

apt_updated=
apt_update_once() {
    [[ $apt_updated || $(id -u) != 0 ]] && return 0
    apt_updated=1
    say "apt-get update"
    apt-get update -qq >&2 || true
}

# The newest cached .deb of a package, if any.
cached_deb() {
    local deb
    deb=$(find "$(debs_dir "$1")" -maxdepth 1 -name "$1_*.deb" 2>/dev/null | sort -V | tail -n 1)
    [[ $deb ]] && echo "$deb"
}

debs_dir() { if [[ $1 == dkms ]]; then echo "$CACHE/sid/debs"; else echo "$CACHE/debs"; fi; }

# apt options that point apt at sid only, with lists and archives of its own under $CACHE/sid.
SID=$CACHE/sid
sid_options=(-o "Dir::Etc::sourcelist=$SID/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::State::Lists=$SID/lists" -o "Dir::Cache=$SID/cache")

download_sid() {
    local pkg=$1 options=(-qq)
    [[ $(id -u) == 0 ]] && options+=(-o APT::Sandbox::User=root)
    mkdir -p "$SID/debs" "$SID/lists/partial" "$SID/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$SID/sources.list"
    if ! (cd "$SID/debs" && apt-get download "${options[@]}" "${sid_options[@]}" "$pkg" >&2) 2>/dev/null; then
        say "apt-get update (sid lists under $SID)"
        apt-get update "${options[@]}" "${sid_options[@]}" >&2 || return 1
        (cd "$SID/debs" && apt-get download "${options[@]}" "${sid_options[@]}" "$pkg" >&2) || return 1
    fi
}

download() {
    local pkg=$1
    cached_deb "$pkg" && return 0
    if [[ $pkg == dkms ]]; then
        say "apt-get download $pkg (sid)"
        download_sid "$pkg" || return 1
        cached_deb "$pkg"
        return
    fi
    say "apt-get download $pkg"
    # As root apt would hand the download to user _apt, who cannot write into our cache.
    local options=(-qq)
    [[ $(id -u) == 0 ]] && options+=(-o APT::Sandbox::User=root)
    if ! (cd "$CACHE/debs" && apt-get download "${options[@]}" "$pkg" >&2); then
        apt_update_once
        (cd "$CACHE/debs" && apt-get download "${options[@]}" "$pkg" >&2) || return 1
    fi
    cached_deb "$pkg"
}

# Unpacks into a fresh directory and renames it into place: an interrupted run leaves no half tree.
root_of() { if [[ $1 == dkms ]]; then echo "$CACHE/root/dkms-sid"; else echo "$CACHE/root/$1"; fi; }

extract() {
    local pkg=$1 deb=$2 dest
    dest=$(root_of "$1")
    if [[ -f $dest/.from && $(cat "$dest/.from") == "${deb##*/}" ]]; then
        return 0
    fi
    rm -rf "$dest" "$dest.tmp"
    dpkg-deb -x "$deb" "$dest.tmp"
    echo "${deb##*/}" >"$dest.tmp/.from"
    mv "$dest.tmp" "$dest"
}

where() {
    local pkg=$1 dest src
    dest=$(root_of "$1")
    if [[ $pkg == dkms ]]; then
        [[ -f $dest/usr/sbin/dkms ]] || return 1
        printf '%s\t%s\n' "$pkg" "$dest/usr/sbin/dkms"
        return 0
    fi
    src=$(find "$dest/usr/src" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort | head -n 1)
    [[ $src ]] || return 1
    printf '%s\t%s\n' "$pkg" "$src"
}

# Depends of a .deb without versions and alternatives, dkms itself and other *-dkms packages
# left out (installing one brings Debian's dkms, which builds it for the machine's kernels).
depends_of() {
    dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' |
        grep -v -e '^$' -e '^dkms$' -e '-dkms$' || true
}

install_build_deps() {
    local missing=() dep pkg deb
    for pkg in "${packages[@]}"; do
        [[ $pkg == dkms ]] && continue
        deb=$(cached_deb "$pkg") || continue
        for dep in $(depends_of "$deb"); do
            dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' ||
                missing+=("$dep")
        done
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) != 0 ]]; then
        say "not root: cannot install build dependencies: ${missing[*]}"
        return 1
    fi
    say "apt-get install ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

status=0
lines=()
for pkg in "${packages[@]}"; do
    if ! deb=$(download "$pkg"); then
        say "cannot download $pkg"
        status=1
        continue
    fi
    extract "$pkg" "$deb"
    if line=$(where "$pkg"); then
        lines+=("$line")
    else
        say "$deb holds neither usr/sbin/dkms nor a source directory under usr/src"
        status=1
    fi
done
if [[ $build_deps ]] && ! install_build_deps; then
    status=1
fi
say "cache: $CACHE"
((${#lines[@]})) && printf '%s\n' "${lines[@]}"
exit $status
