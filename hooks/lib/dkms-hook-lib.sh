# shellcheck shell=sh
# shellcheck disable=SC3043  # local: dash, bash and busybox sh all have it
# dkms-hook-lib.sh: the one implementation behind every package-manager hook of dkms-ts.
# Sourced, not run. Each hook (Debian kernel hooks, kernel-install plugin, RPM file triggers,
# pacman hooks, the module-package helper) turns its package manager's event into one of the
# dkms_hook_* calls below. A call asks dkmsd first and runs dkms directly when no daemon answers;
# it prints little on success, one clear line on failure, and fails the package manager only
# when framework.conf says autoinstall_failure=fail (docs/readiness.md).
#
# Environment (all optional):
#   DKMS_BIN, DKMSD_BIN      the dkms / dkmsd to run (default: $dkms_hook_sbindir/..., else PATH)
#   DKMS_HOOK_TIMEOUT        seconds to wait for dkmsd to finish a kernel (default 1800)
#   DKMS_HOOK_USE_DAEMON     auto (default) | yes | no; auto skips the daemon inside a chroot
#   DKMS_HOOK_VERBOSE=1      show dkms/dkmsd output as it happens instead of only on failure
#   DKMS_HOOK_ROOT           look for kernels and headers below this directory (tests)

# The events themselves are in dkms-hook-events.sh, next to this file: every hook sets
# $dkms_hook_lib to this file's path before sourcing it.
#
# Rewritten by scripts/install.sh when PREFIX is not /usr.
dkms_hook_sbindir=/usr/sbin

dkms_hook_root=${DKMS_HOOK_ROOT:-}
dkms_hook_verbose=
case ${DKMS_HOOK_VERBOSE:-}:${KERNEL_INSTALL_VERBOSE:-0} in
    1:* | *:[1-9]*) dkms_hook_verbose=1 ;;
esac

# Everything goes to stderr: Debian kernel hooks may run under debconf, which owns stdout.
dkms_hook_say() {
    printf '%s\n' "$*" >&2
}

# dkms_hook_tool NAME OVERRIDE: the program to run for NAME, or nothing when there is none.
dkms_hook_tool() {
    if [ -n "$2" ]; then
        printf '%s\n' "$2"
    elif [ -x "$dkms_hook_sbindir/$1" ]; then
        printf '%s\n' "$dkms_hook_sbindir/$1"
    else
        command -v "$1" 2>/dev/null || :
    fi
}
dkms_hook_dkms=$(dkms_hook_tool dkms "${DKMS_BIN:-}")
dkms_hook_dkmsd=$(dkms_hook_tool dkmsd "${DKMSD_BIN:-}")

# Output of the last dkms/dkmsd run, replayed only when it failed.
dkms_hook_log=
if [ -z "$dkms_hook_verbose" ]; then
    dkms_hook_log=$(mktemp "${TMPDIR:-/tmp}/dkms-hook.XXXXXX" 2>/dev/null) || dkms_hook_verbose=1
fi
trap 'rm -f "$dkms_hook_log"' EXIT
trap 'exit 130' HUP INT TERM

# dkms_hook_kver_problem KVER: why KVER is not a kernel release we can safely put into paths
# and commands; nothing when it is one. The same rule as src/util/names.ts (test/util/names.test.ts
# holds them together).
dkms_hook_kver_problem() {
    if [ "${#1}" -gt 200 ]; then
        echo 'it is longer than 200 characters'
        return
    fi
    case $1 in
        '') echo 'it is empty' ;;
        */*) echo 'it contains "/"' ;;
        *..*) echo 'it contains ".."' ;;
        *[[:space:]]*) echo 'it contains whitespace' ;;
        [!0-9]*) echo 'it does not start with a digit' ;;
        *[!A-Za-z0-9._+~-]*) echo 'it has characters other than letters, digits and ._+~-' ;;
    esac
}

dkms_hook_valid_kver() {
    local why
    why=$(dkms_hook_kver_problem "$1")
    [ -n "$why" ] || return 0
    dkms_hook_say "dkms: ignoring kernel version '$1': $why; nothing done."
    return 1
}

# dkms_hook_valid_module NAME VERSION: both usable as dkms -m/-v and as path components.
dkms_hook_valid_module() {
    case $1/$2 in
        /* | */ | */*/* | *..* | *[[:space:]]* | -* | */-*)
            dkms_hook_say "dkms: ignoring module '$1' version '$2': not a valid module name and version; nothing done."
            return 1
            ;;
    esac
    return 0
}

# The kernel package's maintainer-script action (install, upgrade, remove...) from
# DEB_MAINT_PARAMS, which Debian kernel packages pass to their hooks, possibly single-quoted.
dkms_hook_maint_action() {
    local action
    action=${DEB_MAINT_PARAMS:-}
    action=${action#"${action%%[![:space:]]*}"}
    action=${action%%[[:space:]]*}
    action=${action#\'}
    printf '%s\n' "${action%\'}"
}

dkms_hook_has_headers() {
    [ -e "$dkms_hook_root/lib/modules/$1/build" ] ||
        [ -d "$dkms_hook_root/usr/src/linux-headers-$1" ] ||
        [ -d "$dkms_hook_root/usr/src/kernels/$1" ]
}

# A kernel whose image and in-tree modules are gone (its package was removed).
dkms_hook_kernel_gone() {
    local d="$dkms_hook_root/lib/modules/$1"
    ! [ -e "$d/modules.builtin" ] && ! [ -d "$d/kernel" ] && ! [ -e "$d/vmlinuz" ] &&
        ! [ -e "$dkms_hook_root/boot/vmlinuz-$1" ]
}

# Kernels with headers: the running one and every /lib/modules/KVER, each once, valid ones only.
dkms_hook_kernels_with_headers() {
    local k d
    {
        uname -r
        for d in "$dkms_hook_root"/lib/modules/*/; do
            [ -d "$d" ] || continue
            d=${d%/}
            printf '%s\n' "${d##*/}"
        done
    } | awk '!seen[$0]++' | while IFS= read -r k; do
        [ -z "$(dkms_hook_kver_problem "$k")" ] && dkms_hook_has_headers "$k" && printf '%s\n' "$k"
    done
}

dkms_hook_autoinstall_disabled() {
    if [ -e "$dkms_hook_root/etc/dkms/no-autoinstall" ]; then
        dkms_hook_say "dkms: autoinstall is disabled by /etc/dkms/no-autoinstall; $1 not built."
        return 0
    fi
    return 1
}

dkms_hook_timeout() {
    case ${DKMS_HOOK_TIMEOUT:-} in
        '' | *[!0-9]*) echo 1800 ;;
        *) echo "$DKMS_HOOK_TIMEOUT" ;;
    esac
}

# A daemon reached through a bind-mounted /run would build for the host's tree, not this one.
dkms_hook_in_chroot() {
    local here init
    [ -d /proc/1 ] || return 0
    here=$(stat -Lc %d:%i / 2>/dev/null) || return 1
    init=$(stat -Lc %d:%i /proc/1/root/ 2>/dev/null) || return 1
    [ "$here" != "$init" ]
}

dkms_hook_daemon_usable() {
    [ -n "$dkms_hook_dkmsd" ] || return 1
    case ${DKMS_HOOK_USE_DAEMON:-auto} in
        no | 0 | false) return 1 ;;
        yes | 1 | true) return 0 ;;
    esac
    ! dkms_hook_in_chroot
}

# dkms_hook_run CMD...: run with output kept for dkms_hook_show_log; returns CMD's status.
dkms_hook_run() {
    if [ -n "$dkms_hook_verbose" ]; then
        dkms_hook_say "+ $*"
        "$@" </dev/null 1>&2
    else
        "$@" </dev/null >"$dkms_hook_log" 2>&1
    fi
}

dkms_hook_show_log() {
    [ -n "$dkms_hook_log" ] && [ -s "$dkms_hook_log" ] && tail -n 60 "$dkms_hook_log" >&2
    return 0
}

# dkms_hook_notify EVENT ARGS...: dkmsd's status; 3 when there is no daemon to ask.
dkms_hook_notify() {
    dkms_hook_daemon_usable || return 3
    dkms_hook_run "$dkms_hook_dkmsd" notify "$@"
}

# Shown when dkmsd itself reported failed modules (notify exit 1); the daemon's output names them.
dkms_hook_daemon_failed() {
    dkms_hook_show_log
    dkms_hook_say "dkms: FAILED: dkmsd could not $1; see the messages above (each failed module's log is named there) and 'dkmsd status'."
}

dkms_hook_no_dkms() {
    dkms_hook_say "dkms: FAILED: $1: no dkms program found (looked for $dkms_hook_sbindir/dkms and dkms on PATH; set DKMS_BIN)."
}

# dkms_hook_dkms WHAT ARGS...: run dkms ARGS; on failure replay its output and say what failed.
# Returns 0 when dkms succeeded or skipped (77), 1 otherwise.
dkms_hook_dkms() {
    local what="$1" rc why
    shift
    [ -n "$dkms_hook_dkms" ] || {
        dkms_hook_no_dkms "$what"
        return 1
    }
    dkms_hook_run "$dkms_hook_dkms" "$@"
    rc=$?
    case $rc in
        0 | 77) return 0 ;;
        11) why='some modules failed to build or install' ;;
        21) why='kernel headers are missing' ;;
        *) why="exit status $rc" ;;
    esac
    dkms_hook_show_log
    dkms_hook_say "dkms: FAILED: $what ($why); see the dkms messages above (each failed build names its make.log)."
    return 1
}

# framework.conf's autoinstall_failure (fail, warn or defer), as dkms reads it; warn when dkms
# cannot say. Asked once per hook run.
dkms_hook_policy_value=
dkms_hook_policy() {
    if [ -z "$dkms_hook_policy_value" ]; then
        [ -n "$dkms_hook_dkms" ] &&
            dkms_hook_policy_value=$("$dkms_hook_dkms" readiness --policy </dev/null 2>/dev/null)
        case $dkms_hook_policy_value in
            fail | warn | defer) ;;
            *) dkms_hook_policy_value=warn ;;
        esac
    fi
    printf '%s\n' "$dkms_hook_policy_value"
}

# dkms_hook_failure_status KVER: after AUTOINSTALL modules failed for KVER, the hook's exit
# status under the policy: 1 (the package manager reports the failure) for fail, else 0 (the
# FAILED line already said it all).
dkms_hook_failure_status() {
    [ "$(dkms_hook_policy)" = fail ] || return 0
    dkms_hook_say "dkms: autoinstall_failure=fail (framework.conf): failing so the package manager reports that kernel $1 is not ready; 'dkms readiness -k $1' lists what is missing."
    return 1
}

# dkms_hook_each_line LIST CMD...: run "CMD... ITEM" for each non-empty line of LIST. Items are
# never split at blanks or globbed, and CMD keeps the script's stdin. Returns 1 when any failed.
dkms_hook_each_line() {
    local list="$1" item status=0
    shift
    while IFS= read -r item <&3; do
        [ -z "$item" ] || "$@" "$item" 3<&- || status=1
    done 3<<EOF
$list
EOF
    return $status
}

# shellcheck disable=SC2154  # dkms_hook_lib: set by the hook that sources this file
dkms_hook_events=${dkms_hook_lib%/*}/dkms-hook-events.sh
if ! [ -r "$dkms_hook_events" ]; then
    dkms_hook_say "dkms: $dkms_hook_events is missing; nothing done (reinstall dkms-ts)."
    exit 0
fi
# shellcheck source=SCRIPTDIR/dkms-hook-events.sh
. "$dkms_hook_events"
