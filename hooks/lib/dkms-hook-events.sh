# shellcheck shell=sh
# shellcheck disable=SC3043  # local: dash, bash and busybox sh all have it
# shellcheck disable=SC2154  # dkms_hook_* variables come from dkms-hook-lib.sh
# dkms-hook-events.sh: what each package-manager event does, on top of dkms-hook-lib.sh (which
# sources this file): ask dkmsd, else run dkms, report failures, return 0. Plus the parsing of
# the paths package managers hand to their hooks.

# A kernel (or its headers) was installed: build and install every autoinstall module for it.
# Returns 1 only when modules failed and the policy is fail.
dkms_hook_kernel_added() {
    dkms_hook_valid_kver "$1" || return 0
    dkms_hook_autoinstall_disabled "DKMS modules for kernel $1" && return 0
    if ! dkms_hook_has_headers "$1"; then
        dkms_hook_say "dkms: headers for kernel $1 are not installed (no /lib/modules/$1/build); DKMS modules not built for it. Install them (e.g. linux-headers-$1) to build."
        return 0
    fi
    if [ "$(dkms_hook_policy)" = defer ] && dkms_hook_defer "$1"; then
        return 0
    fi
    dkms_hook_say "dkms: installing DKMS modules for kernel $1"
    dkms_hook_notify kernel-added "$1" --wait --timeout "$(dkms_hook_timeout)"
    case $? in
        0) return 0 ;;
        1)
            dkms_hook_daemon_failed "install some DKMS modules for kernel $1"
            dkms_hook_failure_status "$1"
            return
            ;;
    esac
    dkms_hook_dkms "building DKMS modules for kernel $1 (dkms kernel_postinst -k $1)" \
        kernel_postinst -k "$1" && return 0
    dkms_hook_failure_status "$1"
}

# autoinstall_failure=defer: the package manager does not wait for the build. dkmsd builds in
# the background (holding off shutdown while it does); without dkmsd, a transient systemd unit
# runs dkms kernel_postinst under systemd-inhibit. Returns 1 when neither is possible.
dkms_hook_defer() {
    if dkms_hook_notify kernel-added "$1"; then
        dkms_hook_say "dkms: dkmsd builds the DKMS modules for kernel $1 in the background (autoinstall_failure=defer); 'dkms readiness -k $1' says when they are ready."
        return 0
    fi
    if [ -n "$dkms_hook_dkms" ] && [ -d "${DKMS_HOOK_SYSTEMD_DIR:-/run/systemd/system}" ] &&
        command -v systemd-run >/dev/null 2>&1 &&
        dkms_hook_run systemd-run --no-block --quiet --collect \
            --description="DKMS modules for kernel $1" \
            systemd-inhibit --what=shutdown:sleep --mode=delay --who=dkms \
            --why="Building DKMS modules for kernel $1" \
            "$dkms_hook_dkms" kernel_postinst -k "$1"; then
        dkms_hook_say "dkms: building the DKMS modules for kernel $1 in the background (autoinstall_failure=defer); 'dkms readiness -k $1' says when they are ready."
        return 0
    fi
    dkms_hook_say "dkms: autoinstall_failure=defer, but neither dkmsd nor systemd can build in the background here: building now."
    return 1
}

# A kernel is about to be removed: remove every DKMS module built for it.
dkms_hook_kernel_removed() {
    dkms_hook_valid_kver "$1" || return 0
    dkms_hook_notify kernel-removed "$1"
    case $? in
        0) return 0 ;;
        1) dkms_hook_daemon_failed "remove the DKMS modules of kernel $1"; return 0 ;;
    esac
    dkms_hook_dkms "removing DKMS modules of kernel $1 (dkms kernel_prerm -k $1)" \
        kernel_prerm -k "$1"
    # Let the package manager remove /lib/modules/KVER once our directories are empty.
    rmdir "$dkms_hook_root/lib/modules/$1/updates/dkms" "$dkms_hook_root/lib/modules/$1/updates" \
        2>/dev/null
    return 0
}

# A kernel of the same release is about to be (re)installed: modules built for the old one go.
dkms_hook_kernel_preinst() {
    dkms_hook_valid_kver "$1" || return 0
    dkms_hook_dkms "clearing DKMS modules of kernel $1 before it is replaced (dkms kernel_preinst -k $1)" \
        kernel_preinst -k "$1"
    return 0
}

# The lines of `dkms status -m M -v V`, or nothing; fails only when dkms cannot be run.
dkms_hook_module_status() {
    [ -n "$dkms_hook_dkms" ] || return 1
    "$dkms_hook_dkms" status -m "$1" -v "$2" </dev/null 2>/dev/null
    return 0
}

# dkms_hook_status_installed STATUS PREFIX: a line of STATUS starts with PREFIX and says installed.
dkms_hook_status_installed() {
    printf '%s\n' "$1" | awk -v p="$2" 'index($0, p) == 1 && /: installed/ { f = 1 } END { exit !f }'
}

# dkms_hook_module_add M V [TARBALL]: register the module source with dkms unless it already is.
# Returns 1 when it could not be added.
dkms_hook_module_add() {
    local status
    dkms_hook_valid_module "$1" "$2" || return 1
    status=$(dkms_hook_module_status "$1" "$2") || {
        dkms_hook_no_dkms "adding $1/$2"
        return 1
    }
    [ -n "$status" ] && return 0
    if [ -n "${3:-}" ]; then
        dkms_hook_dkms "loading $1/$2 from $3 (dkms ldtarball)" ldtarball --archive "$3"
    else
        dkms_hook_dkms "adding $1/$2 (dkms add -m $1 -v $2)" add -m "$1" -v "$2"
    fi
}

# A module package was installed: add it, then build and install it for every kernel with headers.
dkms_hook_module_added() {
    local status k built=0 failed=0
    dkms_hook_module_add "$@" || return 1
    dkms_hook_autoinstall_disabled "$1/$2" && return 0
    dkms_hook_notify module-added "$1" "$2" --wait
    case $? in
        0) return 0 ;;
        1) dkms_hook_daemon_failed "build $1/$2 for every kernel"; return 0 ;;
    esac
    status=$(dkms_hook_module_status "$1" "$2")
    for k in $(dkms_hook_kernels_with_headers); do
        built=1
        dkms_hook_status_installed "$status" "$1/$2, $k, " && continue
        dkms_hook_dkms "building $1/$2 for kernel $k (dkms install -m $1 -v $2 -k $k)" \
            install -m "$1" -v "$2" -k "$k" || failed=1
    done
    [ "$built" = 1 ] ||
        dkms_hook_say "dkms: $1/$2 added; no kernel has headers installed, so it was not built."
    [ "$failed" = 0 ] || dkms_hook_say "dkms: $1/$2 stays added; it is built again with the next kernel or 'dkms autoinstall'."
    return 0
}

# A module package is being removed: remove the module from dkms for every kernel.
dkms_hook_module_removed() {
    local status
    dkms_hook_valid_module "$1" "$2" || return 0
    status=$(dkms_hook_module_status "$1" "$2") || {
        dkms_hook_no_dkms "removing $1/$2"
        return 0
    }
    [ -n "$status" ] || return 0
    dkms_hook_dkms "removing $1/$2 (dkms remove -m $1 -v $2 --all)" remove -m "$1" -v "$2" --all
    return 0
}

# Something changed in bulk (module packages in one transaction): one pass over everything.
dkms_hook_rescan() {
    local k
    dkms_hook_autoinstall_disabled "DKMS modules" && return 0
    dkms_hook_notify rescan
    case $? in
        0) return 0 ;;
        1) dkms_hook_daemon_failed "rescan DKMS modules"; return 0 ;;
    esac
    for k in $(dkms_hook_kernels_with_headers); do
        dkms_hook_dkms "building DKMS modules for kernel $k (dkms autoinstall -k $k)" autoinstall -k "$k"
    done
    return 0
}

# Kernel releases named by the paths on stdin: .../lib/modules/KVER/... and /usr/src/kernels/KVER/...
# Leading "/" and "usr/" are optional (RPM gives absolute paths, pacman relative ones).
dkms_hook_kvers_from_paths() {
    sed -n \
        -e 's#^/\{0,1\}\(usr/\)\{0,1\}lib/modules/\([^/][^/]*\).*$#\2#p' \
        -e 't' \
        -e 's#^/\{0,1\}usr/src/kernels/\([^/][^/]*\).*$#\1#p' |
        awk '!seen[$0]++'
}

# Kernel releases dkms has anything built or installed for (from `dkms status`).
dkms_hook_kvers_in_dkms() {
    [ -n "$dkms_hook_dkms" ] || return 0
    "$dkms_hook_dkms" status </dev/null 2>/dev/null |
        sed -n 's#^[^,:]*, \([^,:]*\), [^,:]*:.*$#\1#p' | awk '!seen[$0]++'
}

# dkms_hook_source_module DIR: "NAME VERSION" of the module source in DIR (/usr/src/NAME-VERSION).
# The name comes from a literal PACKAGE_NAME= in dkms.conf when it prefixes DIR's name; otherwise
# DIR's name splits at its last "-".
dkms_hook_source_module() {
    local base="${1%/}" name
    base=${base##*/}
    name=$(sed -n "s/^[[:space:]]*PACKAGE_NAME=[\"']\{0,1\}\([A-Za-z0-9._+-]*\)[\"']\{0,1\}[[:space:]]*\$/\1/p" \
        "$1/dkms.conf" 2>/dev/null | head -n 1)
    case $base in
        "$name"-?*) printf '%s %s\n' "$name" "${base#"$name"-}" ;;
        ?*-?*) printf '%s %s\n' "${base%-*}" "${base##*-}" ;;
        *) return 1 ;;
    esac
}
