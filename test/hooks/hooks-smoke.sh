#!/bin/bash
# Shell-level checks of hooks/, systemd/ and scripts/{install,uninstall}.sh.
# dkms and dkmsd are fakes here that record their argv and exit as told (fault injection: the
# real tools go through apt end to end elsewhere). Nothing outside one temporary directory is
# written. Prints "N passed, M failed"; exits 1 when anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hooks-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...: one test; on failure show the last hook output
    if "${@:2}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1"
        [ -z "${out:-}" ] || printf '%s\n' "$out" | sed 's/^/    | /'
    fi
}
skip() { echo "skip: $*"; }

K47=6.1.0-47-test  # has headers in the fake root
K50=6.1.0-50-test  # kernel without headers
KGONE=6.1.0-9-gone # dkms still has modules for it; its image is gone

# --- fakes and a fake root ---------------------------------------------------------------------
mkdir -p "$work/bin" "$work/tmp" "$work/root/lib/modules/$K47/build" \
    "$work/root/lib/modules/$K50/kernel" "$work/root/usr/src/hello-1.0"
touch "$work/root/lib/modules/$K47/modules.builtin"
printf 'PACKAGE_NAME="hello"\nPACKAGE_VERSION="1.0"\n' >"$work/root/usr/src/hello-1.0/dkms.conf"
cat >"$work/bin/dkms" <<'EOF'
#!/bin/sh
# the hooks ask for framework.conf's autoinstall_failure first; not recorded
if [ "$*" = "readiness --policy" ]; then
    echo "${FAKE_POLICY:-warn}"
    exit 0
fi
printf '%s\n' "$*" >>"$FAKE_LOG/dkms"
if [ "$1" = status ]; then
    [ -z "${FAKE_DKMS_STATUS:-}" ] || printf '%s\n' "$FAKE_DKMS_STATUS"
    exit 0
fi
echo "fake dkms: $*"
case "$*" in ${FAKE_DKMS_FAIL_MATCH:-no-match}) exit "${FAKE_DKMS_FAIL_RC:-1}" ;; esac
exit "${FAKE_DKMS_RC:-0}"
EOF
cat >"$work/bin/dkmsd" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG/dkmsd"
echo "fake dkmsd: $*"
exit "${FAKE_DKMSD_RC:-3}"
EOF
chmod 755 "$work/bin/dkms" "$work/bin/dkmsd"

# run [VAR=VALUE...] -- COMMAND...: run a hook in a clean environment with the fakes; sets $rc,
# $out (stdout+stderr), $dkms_calls and $dkmsd_calls (one argv per line). Stdin is passed on.
# The shell running the hooks: sh (dash on Debian); HOOK_SH=bash checks them as Fedora runs them.
HOOK_SH=${HOOK_SH:-sh}
hook_sh_default=$HOOK_SH
run() {
    local vars=()
    while [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    shift
    rm -rf "$work/log"
    mkdir -p "$work/log"
    out=$(env -i PATH="/usr/sbin:/usr/bin:/sbin:/bin" TMPDIR="$work/tmp" FAKE_LOG="$work/log" \
        DKMS_BIN="$work/bin/dkms" DKMSD_BIN="$work/bin/dkmsd" DKMS_HOOK_ROOT="$work/root" \
        DKMS_HOOK_USE_DAEMON=yes "${vars[@]}" "$HOOK_SH" "$@" 2>&1)
    rc=$?
    dkms_calls=$(cat "$work/log/dkms" 2>/dev/null)
    dkmsd_calls=$(cat "$work/log/dkmsd" 2>/dev/null)
}
is() { [ "$1" = "$2" ] || { out="$out
    expected: $(printf '%q' "$2")
    got:      $(printf '%q' "$1")"; false; }; }
has() { case $1 in *"$2"*) return 0 ;; esac; out="$out
    expected to contain: $2"; false; }
lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi; }

deb=hooks/debian
ki=hooks/kernel-install/40-dkms.install
rpm=hooks/rpm/dkms-rpm-trigger
pac=hooks/pacman/dkms-pacman
helper=hooks/debian/dkms-package-helper

# --- every script parses -----------------------------------------------------------------------
scripts=$(grep -rlE '^#!.*(ba|da)?sh' hooks test/hooks 2>/dev/null; echo hooks/lib/*.sh scripts/install.sh scripts/uninstall.sh)
for f in $scripts; do
    check "bash -n $f" bash -n "$f"
    if command -v dash >/dev/null && head -n 2 "$f" | grep -qE '^#!/bin/sh|shell=sh'; then
        check "dash -n $f" dash -n "$f"
    fi
done
if command -v shellcheck >/dev/null; then
    for f in $scripts; do check "shellcheck $f" shellcheck -x "$f"; done
else
    skip "shellcheck not installed"
fi

# --- a bad kernel version: a message, exit 0, nothing run --------------------------------------
bad_kver_case() { # HOOK-ARGV...: the hook was given a bad kernel version
    run -- "$@"
    is "$rc" 0 && has "$out" "ignoring kernel version" && is "$dkms_calls$dkmsd_calls" ""
}
for kver in '' '../../etc' '6.1/x' '6.1..2' '6.1 x' 'linux-6.1' "6.1\$(id)"; do
    for hook in kernel-postinst.d-dkms kernel-header_postinst.d-dkms kernel-preinst.d-dkms \
        kernel-prerm.d-dkms; do
        check "$hook rejects kernel version '$kver'" bad_kver_case "$deb/$hook" "$kver" /boot/x
    done
    check "kernel-install add rejects '$kver'" bad_kver_case "$ki" add "$kver" /efi/x /boot/x
    check "kernel-install remove rejects '$kver'" bad_kver_case "$ki" remove "$kver" /efi/x
done
run -- "$ki" add
check "kernel-install add without a version: exit 0" is "$rc" 0
run -- "$ki" inspect "$K47"
check "kernel-install ignores other verbs" is "$rc/$dkms_calls$dkmsd_calls" "0/"

# --- no daemon (notify exits 3): dkms runs directly --------------------------------------------
for sh in sh bash; do
    command -v "$sh" >/dev/null || continue
    HOOK_SH=$sh
    for hook in kernel-postinst.d-dkms kernel-header_postinst.d-dkms; do
        run -- "$deb/$hook" "$K47" /boot/vmlinuz-$K47
        check "$sh: $hook falls back to dkms kernel_postinst" \
            is "$rc|$dkmsd_calls|$dkms_calls" \
            "0|notify kernel-added $K47 --wait --timeout 1800|kernel_postinst -k $K47"
    done
    run -- "$deb/kernel-prerm.d-dkms" "$K47" /boot/vmlinuz-$K47
    check "$sh: prerm falls back to dkms kernel_prerm" is "$rc|$dkmsd_calls|$dkms_calls" \
        "0|notify kernel-removed $K47|kernel_prerm -k $K47"
    run DEB_MAINT_PARAMS="'upgrade' '6.1.1-1'" -- "$deb/kernel-preinst.d-dkms" "$K47" /boot/x
    check "$sh: preinst runs dkms kernel_preinst (no daemon involved)" \
        is "$rc|$dkmsd_calls|$dkms_calls" "0||kernel_preinst -k $K47"
    run -- "$ki" add "$K47" /efi/entry /boot/vmlinuz-$K47
    check "$sh: kernel-install add falls back to kernel_postinst" \
        is "$rc|$dkmsd_calls|$dkms_calls" \
        "0|notify kernel-added $K47 --wait --timeout 1800|kernel_postinst -k $K47"
    run -- "$ki" remove "$K47" /efi/entry
    check "$sh: kernel-install remove falls back to kernel_prerm" \
        is "$rc|$dkmsd_calls|$dkms_calls" "0|notify kernel-removed $K47|kernel_prerm -k $K47"
done
HOOK_SH=$hook_sh_default

run DKMSD_FINISHING="$K47" -- "$ki" add "$K47" /efi/e /boot/x
check "kernel-install run by dkmsd's own finish step does nothing" \
    is "$rc|$dkmsd_calls|$dkms_calls" "0||"
run DKMS_HOOK_TIMEOUT=60 -- "$deb/kernel-postinst.d-dkms" "$K47"
check "DKMS_HOOK_TIMEOUT is passed to notify --timeout" \
    is "$dkmsd_calls" "notify kernel-added $K47 --wait --timeout 60"
run DKMS_HOOK_TIMEOUT=soon -- "$deb/kernel-postinst.d-dkms" "$K47"
check "a non-numeric DKMS_HOOK_TIMEOUT falls back to 1800" \
    is "$dkmsd_calls" "notify kernel-added $K47 --wait --timeout 1800"
run DKMS_HOOK_USE_DAEMON=no FAKE_DKMSD_RC=0 -- "$deb/kernel-postinst.d-dkms" "$K47"
check "DKMS_HOOK_USE_DAEMON=no runs dkms without asking dkmsd" \
    is "$dkmsd_calls|$dkms_calls" "|kernel_postinst -k $K47"
run FAKE_DKMSD_RC=2 -- "$deb/kernel-postinst.d-dkms" "$K47"
check "notify usage error (2): falls back to dkms" is "$dkms_calls" "kernel_postinst -k $K47"
run DKMSD_BIN=/nonexistent/dkmsd -- "$deb/kernel-postinst.d-dkms" "$K47"
check "dkmsd missing: falls back to dkms" is "$rc|$dkms_calls" "0|kernel_postinst -k $K47"

# --- the daemon accepts (exit 0): no fallback, quiet -------------------------------------------
run FAKE_DKMSD_RC=0 -- "$deb/kernel-postinst.d-dkms" "$K47" /boot/x
check "postinst with a daemon: no dkms run" is "$rc|$dkms_calls" "0|"
check "postinst with a daemon: one line of progress, nothing else" is "$(lines "$out")" 1
run FAKE_DKMSD_RC=0 -- "$deb/kernel-header_postinst.d-dkms" "$K47"
check "header_postinst with a daemon: no dkms run" is "$rc|$dkms_calls" "0|"
run FAKE_DKMSD_RC=0 -- "$deb/kernel-prerm.d-dkms" "$K47" /boot/x
check "prerm with a daemon: no dkms run, silent" is "$rc|$dkms_calls|$out" "0||"
run FAKE_DKMSD_RC=0 -- "$ki" add "$K47" /efi/e /boot/x
check "kernel-install add with a daemon: no dkms run" is "$rc|$dkms_calls" "0|"
run FAKE_DKMSD_RC=0 -- "$ki" remove "$K47" /efi/e
check "kernel-install remove with a daemon: no dkms run" is "$rc|$dkms_calls" "0|"
run -- "$deb/kernel-prerm.d-dkms" "$K47"
check "prerm fallback that works is silent" is "$out" ""

# --- failures: exit 0 and one clear line -------------------------------------------------------
run FAKE_DKMS_RC=11 -- "$deb/kernel-postinst.d-dkms" "$K47"
check "dkms kernel_postinst fails: exit 0" is "$rc" 0
check "dkms kernel_postinst fails: says what failed" has "$out" "FAILED: building DKMS modules for kernel $K47 (dkms kernel_postinst -k $K47) (some modules failed"
check "dkms kernel_postinst fails: points at the logs" has "$out" "each failed build names its make.log"
check "dkms kernel_postinst fails: dkms's own output is shown" has "$out" "fake dkms: kernel_postinst"
check "dkms kernel_postinst fails: the summary is the last line" has "$(printf '%s\n' "$out" | tail -n 1)" "FAILED:"
run FAKE_DKMS_RC=1 -- "$deb/kernel-prerm.d-dkms" "$K47"
check "dkms kernel_prerm fails: exit 0 and a message" \
    is "$rc|$(printf '%s\n' "$out" | grep -c 'FAILED: removing DKMS modules of kernel')" "0|1"
run FAKE_DKMS_RC=1 DEB_MAINT_PARAMS=upgrade -- "$deb/kernel-preinst.d-dkms" "$K47"
check "dkms kernel_preinst fails: exit 0 and a message" \
    is "$rc|$(printf '%s\n' "$out" | grep -c 'FAILED: clearing DKMS modules')" "0|1"
run FAKE_DKMS_RC=21 -- "$ki" add "$K47" /efi/e /boot/x
check "kernel-install add, dkms fails: exit 0" is "$rc" 0
check "kernel-install add, dkms fails: headers named" has "$out" "kernel headers are missing"
run DKMS_BIN=/nonexistent/dkms -- "$deb/kernel-postinst.d-dkms" "$K47"
check "dkms cannot be run: exit 0 and a message" is "$rc|$(printf '%s\n' "$out" | grep -c FAILED)" "0|1"
run FAKE_DKMSD_RC=1 -- "$deb/kernel-postinst.d-dkms" "$K47"
check "daemon reports failed modules: exit 0, no second build by dkms" is "$rc|$dkms_calls" "0|"
check "daemon reports failed modules: says so and shows its output" \
    has "$out" "fake dkmsd: notify kernel-added"
check "daemon reports failed modules: one FAILED line" has "$out" "FAILED: dkmsd could not install some DKMS modules for kernel $K47"

# --- autoinstall_failure: fail, warn (the default), defer --------------------------------------
for hook in "$deb/kernel-postinst.d-dkms" "$deb/kernel-header_postinst.d-dkms" "$ki add"; do
    # shellcheck disable=SC2086  # "$ki add" is two words on purpose
    set -- $hook
    run FAKE_POLICY=fail FAKE_DKMS_RC=11 -- "$@" "$K47" /boot/x
    check "fail: $hook exits 1 when modules failed" is "$rc" 1
    check "fail: $hook says why it fails" has "$out" "autoinstall_failure=fail (framework.conf)"
    run FAKE_POLICY=fail FAKE_DKMSD_RC=1 -- "$@" "$K47" /boot/x
    check "fail: $hook exits 1 when dkmsd reports failed modules" is "$rc|$dkms_calls" "1|"
    run FAKE_POLICY=fail -- "$@" "$K47" /boot/x
    check "fail: $hook exits 0 when every module built" is "$rc" 0
    run FAKE_POLICY=warn FAKE_DKMS_RC=11 -- "$@" "$K47" /boot/x
    check "warn: $hook exits 0 when modules failed, FAILED the last line" \
        is "$rc|$(printf '%s\n' "$out" | tail -n 1 | grep -c "FAILED")" "0|1"
    run FAKE_POLICY=defer FAKE_DKMSD_RC=0 -- "$@" "$K47" /boot/x
    check "defer: $hook hands the kernel to dkmsd without waiting" \
        is "$rc|$dkmsd_calls|$dkms_calls" "0|notify kernel-added $K47|"
    run FAKE_POLICY=defer DKMS_HOOK_SYSTEMD_DIR=/nonexistent FAKE_DKMS_RC=11 -- "$@" "$K47" /boot/x
    check "defer without dkmsd or systemd: builds now, exit 0 on failure" \
        is "$rc|$dkms_calls" "0|kernel_postinst -k $K47"
done
cat >"$work/bin/systemd-run" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG/systemd-run"
EOF
chmod 755 "$work/bin/systemd-run"
mkdir -p "$work/systemd"
run PATH="$work/bin:/usr/sbin:/usr/bin:/sbin:/bin" FAKE_POLICY=defer DKMS_HOOK_SYSTEMD_DIR="$work/systemd" \
    -- "$deb/kernel-postinst.d-dkms" "$K47" /boot/x
check "defer without dkmsd: a transient unit builds under systemd-inhibit" \
    is "$rc|$dkms_calls|$(cat "$work/log/systemd-run")" \
    "0||--no-block --quiet --collect --description=DKMS modules for kernel $K47 systemd-inhibit --what=shutdown:sleep --mode=delay --who=dkms --why=Building DKMS modules for kernel $K47 $work/bin/dkms kernel_postinst -k $K47"
run FAKE_POLICY=fail FAKE_DKMS_RC=11 -- "$rpm" in <<<"/lib/modules/$K47/modules.builtin"
check "fail: rpm trigger exits 1 when modules failed" is "$rc" 1
run FAKE_POLICY=fail FAKE_DKMS_RC=11 -- "$pac" install <<<"usr/lib/modules/$K47/build/include/"
check "fail: pacman hook exits 1 when modules failed" is "$rc" 1
run FAKE_POLICY=warn FAKE_DKMS_RC=11 -- "$pac" install <<<"usr/lib/modules/$K47/build/include/"
check "warn: pacman hook exits 0 when modules failed" is "$rc" 0
run FAKE_POLICY=fail FAKE_DKMS_RC=1 -- "$deb/kernel-prerm.d-dkms" "$K47" /boot/x
check "fail: removing a kernel never fails" is "$rc" 0

# --- when hooks do nothing ---------------------------------------------------------------------
run -- "$deb/kernel-postinst.d-dkms" "$K50" /boot/x
check "no headers: nothing run, exit 0" is "$rc|$dkms_calls$dkmsd_calls" "0|"
check "no headers: says which headers are missing" has "$out" "headers for kernel $K50 are not installed"
run DEB_MAINT_PARAMS=install -- "$deb/kernel-preinst.d-dkms" "$K47" /boot/x
check "preinst of a fresh install: nothing to clear" is "$rc|$dkms_calls$dkmsd_calls" "0|"
for params in "upgrade 6.1.1-2" "'failed-upgrade' '6.1.1-2'"; do
    run DEB_MAINT_PARAMS="$params" -- "$deb/kernel-prerm.d-dkms" "$K47" /boot/x
    check "prerm during an in-place upgrade ($params): modules stay" \
        is "$rc|$dkms_calls$dkmsd_calls" "0|"
done
run DEB_MAINT_PARAMS=remove -- "$deb/kernel-prerm.d-dkms" "$K47" /boot/x
check "prerm of a removal: modules go" is "$dkms_calls" "kernel_prerm -k $K47"
mkdir -p "$work/root/etc/dkms" && touch "$work/root/etc/dkms/no-autoinstall"
run -- "$deb/kernel-postinst.d-dkms" "$K47"
check "/etc/dkms/no-autoinstall: nothing built" is "$rc|$dkms_calls$dkmsd_calls" "0|"
rm -r "$work/root/etc/dkms"
cp "$deb/kernel-postinst.d-dkms" "$work/lone-hook"
run DKMS_HOOK_LIB=/nonexistent/lib.sh -- "$work/lone-hook" "$K47"
check "hook left behind without dkms-ts: silent exit 0" is "$rc|$out|$dkms_calls" "0||"

# --- RPM file triggers -------------------------------------------------------------------------
run -- "$rpm" in <<EOF
/lib/modules/$K47/kernel/drivers/foo.ko.xz
/lib/modules/$K47/modules.builtin
EOF
check "rpm in: two files of one kernel, one poke" is "$rc|$dkmsd_calls" \
    "0|notify kernel-added $K47 --wait --timeout 1800"
check "rpm in: ... and one fallback" is "$dkms_calls" "kernel_postinst -k $K47"
mkdir -p "$work/root/usr/src/kernels/6.2.0-1.fc99.x86_64"
run FAKE_DKMSD_RC=0 -- "$rpm" in <<EOF
/lib/modules
/usr/lib/modules/$K47/vmlinuz
/usr/src/kernels/6.2.0-1.fc99.x86_64/Makefile
/usr/src/kernels/6.2.0-1.fc99.x86_64/include/linux/module.h
/lib/modules/$K47/kernel
EOF
check "rpm in: two kernels (image and headers), one poke each" is "$dkmsd_calls" \
    "notify kernel-added $K47 --wait --timeout 1800
notify kernel-added 6.2.0-1.fc99.x86_64 --wait --timeout 1800"
run -- "$rpm" in </dev/null
check "rpm in: empty file list, nothing done" is "$rc|$dkms_calls$dkmsd_calls" "0|"
run FAKE_DKMS_STATUS="hello/1.0, $K47, x86_64: installed
hello/1.0, $KGONE, x86_64: installed
other/2, $KGONE, x86_64: built
other/2: added" -- "$rpm" postun </dev/null
check "rpm postun: only the kernel whose image is gone loses its modules" \
    is "$rc|$dkmsd_calls|$(printf '%s\n' "$dkms_calls" | grep -v '^status')" \
    "0|notify kernel-removed $KGONE|kernel_prerm -k $KGONE"
run -- "$rpm" in <<<"/lib/modules/vmlinuz-extra/foo.ko"
check "rpm in: a path naming no kernel release is rejected with a message" \
    is "$rc|$dkms_calls$dkmsd_calls|$(printf '%s\n' "$out" | grep -c 'ignoring kernel version')" "0||1"
run -- "$pac" install <<<"usr/lib/modules/../build/include/"
check "pacman install: a bad kernel version in a path is rejected with a message" \
    is "$rc|$dkms_calls$dkmsd_calls|$(printf '%s\n' "$out" | grep -c 'ignoring kernel version')" "0||1"
run -- "$rpm" bogus
check "rpm trigger: unknown mode, exit 0" is "$rc|$dkms_calls$dkmsd_calls" "0|"
check "rpm spec: transfiletriggerin on /lib/modules and /usr/src/kernels" \
    grep -qE '^%transfiletriggerin .*-- .*/lib/modules.*/usr/src/kernels' hooks/rpm/dkms-triggers.spec
check "rpm spec: transfiletriggerpostun on /lib/modules" \
    grep -qE '^%transfiletriggerpostun .*-- /lib/modules' hooks/rpm/dkms-triggers.spec

# --- pacman hooks ------------------------------------------------------------------------------
run -- "$pac" install <<EOF
usr/src/hello-1.0/dkms.conf
usr/lib/modules/$K47/build/include/
EOF
check "pacman install: adds and builds the new source, then the new kernel" \
    is "$rc|$dkmsd_calls|$dkms_calls" "0|notify module-added hello 1.0 --wait
notify kernel-added $K47 --wait --timeout 1800|status -m hello -v 1.0
add -m hello -v 1.0
status -m hello -v 1.0
install -m hello -v 1.0 -k $K47
kernel_postinst -k $K47"
run FAKE_DKMS_STATUS="hello/1.0: added" -- "$pac" remove <<EOF
usr/src/hello-1.0/dkms.conf
usr/lib/modules/$KGONE/vmlinuz
usr/lib/modules/$K47/build/include/
EOF
check "pacman remove: removes the source's module and the removed kernel's modules" \
    is "$rc|$dkmsd_calls|$dkms_calls" "0|notify kernel-removed $KGONE|status -m hello -v 1.0
remove -m hello -v 1.0 --all
kernel_prerm -k $KGONE"
for hook in hooks/pacman/*.hook; do
    check "$hook: has Trigger and Action, NeedsTargets, Exec of dkms-pacman" \
        grep -qzE '\[Trigger\].*Type = Path.*\[Action\].*When = (Pre|Post)Transaction.*Exec = /usr/lib/dkms-ts/hooks/pacman/dkms-pacman.*NeedsTargets' "$hook"
done
check "pacman install hook targets dkms.conf and kernel headers" \
    is "$(grep -c -e '^Target = usr/src/\*/dkms.conf$' -e '^Target = usr/lib/modules/\*/build/include/$' hooks/pacman/70-dkms-install.hook)" 2

# --- the module-package helper -----------------------------------------------------------------
run -- "$helper" postinst hello 1.0
check "helper postinst, no daemon: add, then install for each kernel with headers" \
    is "$rc|$dkmsd_calls|$dkms_calls" "0|notify module-added hello 1.0 --wait|status -m hello -v 1.0
add -m hello -v 1.0
status -m hello -v 1.0
install -m hello -v 1.0 -k $K47"
run FAKE_DKMSD_RC=0 FAKE_DKMS_STATUS="hello/1.0: added" -- "$helper" postinst hello 1.0
check "helper postinst with a daemon: no second add, no dkms install" \
    is "$rc|$dkmsd_calls|$dkms_calls" "0|notify module-added hello 1.0 --wait|status -m hello -v 1.0"
run FAKE_DKMS_STATUS="hello/1.0, $K47, x86_64: installed" -- "$helper" postinst hello 1.0
check "helper postinst: a kernel where it is installed already is skipped" \
    is "$(printf '%s\n' "$dkms_calls" | grep -c '^install')" 0
run FAKE_DKMS_FAIL_MATCH="install*" FAKE_DKMS_FAIL_RC=77 -- "$helper" postinst hello 1.0
check "helper postinst: exit 77 from dkms install is a quiet skip" \
    is "$rc|$(printf '%s\n' "$out" | grep -c FAILED)" "0|0"
run FAKE_DKMS_FAIL_MATCH="install*" FAKE_DKMS_FAIL_RC=10 -- "$helper" postinst hello 1.0
check "helper postinst: a failed build exits 0 and says so" \
    is "$rc|$(printf '%s\n' "$out" | grep -c "FAILED: building hello/1.0 for kernel $K47")" "0|1"
run FAKE_DKMS_FAIL_MATCH="add*" FAKE_DKMS_FAIL_RC=3 -- "$helper" postinst hello 1.0
check "helper postinst: a module that cannot be added fails the package (exit 1)" \
    is "$rc|$(printf '%s\n' "$dkms_calls" | grep -c '^install')" "1|0"
run FAKE_DKMS_STATUS="hello/1.0: added" -- "$helper" prerm hello 1.0
check "helper prerm: dkms remove --all" is "$rc|$dkms_calls" "0|status -m hello -v 1.0
remove -m hello -v 1.0 --all"
run -- "$helper" prerm hello 1.0
check "helper prerm of a module dkms does not know: nothing removed" \
    is "$rc|$dkms_calls" "0|status -m hello -v 1.0"
run FAKE_DKMS_STATUS="hello/1.0: added" FAKE_DKMS_RC=5 -- "$helper" prerm hello 1.0
check "helper prerm: a failing remove never blocks package removal" is "$rc" 0
run -- "$helper" add hello 1.0
check "helper add: dkms add only" is "$rc|$dkmsd_calls|$dkms_calls" "0||status -m hello -v 1.0
add -m hello -v 1.0"
run FAKE_DKMSD_RC=0 -- "$helper" trigger dkms-rebuild
check "helper trigger: one rescan through the daemon" is "$rc|$dkmsd_calls|$dkms_calls" \
    "0|notify rescan|"
run -- "$helper" trigger dkms-rebuild
check "helper trigger, no daemon: autoinstall for each kernel with headers" \
    is "$rc|$dkms_calls" "0|autoinstall -k $K47"
run -- "$helper" postinst hello
check "helper: usage error exits 2" is "$rc" 2
run -- "$helper" postinst "../x" 1.0
check "helper: a module name with a path in it is refused" is "$dkms_calls" ""
# common.postinst: dkms 3.4.3's behaviour, in a root of its own (the module's source is linked)
pr=$work/postinst-root
mkdir -p "$pr/lib/modules/$K47/build/include" "$pr/usr/src/hello-1.0" "$pr/var/lib/dkms/hello/1.0"
printf 'PACKAGE_NAME="hello"\nPACKAGE_VERSION="1.0"\nAUTOINSTALL=yes\n' >"$pr/usr/src/hello-1.0/dkms.conf"
ln -s "$pr/usr/src/hello-1.0" "$pr/var/lib/dkms/hello/1.0/source"
run DKMS_HOOK_ROOT="$pr" DKMS_HOOK_KERNEL="$K47" -- hooks/debian/common.postinst hello 1.0 "" "" ""
check "common.postinst (upstream-built packages): re-adds, builds, installs as dkms 3.4.3" \
    is "$rc|$dkms_calls" "0|remove -m hello -v 1.0 --all
add -m hello -v 1.0
status -m hello -v 1.0 -k $K47
build -m hello -v 1.0 -k $K47
status -m hello -v 1.0 -k $K47"
run DKMS_HOOK_ROOT="$pr" DKMS_HOOK_KERNEL="$K47" FAKE_DKMS_FAIL_MATCH="build*" FAKE_DKMS_FAIL_RC=10 \
    -- hooks/debian/common.postinst hello 1.0 "" "" ""
check "common.postinst: a failed build is named and its status is the exit status" \
    is "$rc|$(printf '%s\n' "$out" | tail -n 1)" "10|Builds for the following kernel(s) failed: $K47"
run DKMS_HOOK_ROOT="$pr" -- hooks/debian/common.postinst hello
check "common.postinst: NAME and VERSION are required (exit 1)" is "$rc" 1
run DKMS_MODDIR="$pr/lib/modules" -- hooks/debian/dkms_autoinstaller start "$K47"
check "dkms_autoinstaller start KERNEL: dkms autoinstall for it" \
    is "$rc|$dkms_calls" "0|autoinstall --kernelver $K47"
run DKMS_MODDIR="$pr/lib/modules" -- hooks/debian/dkms_autoinstaller start "$K50"
check "dkms_autoinstaller start: a kernel without headers is skipped, said so" \
    is "$rc|$dkms_calls|$(printf '%s' "$out" | grep -c 'was skipped since the kernel headers')" "0||1"
run -- hooks/debian/dkms_autoinstaller stop
check "dkms_autoinstaller stop does nothing" is "$rc|$dkms_calls" "0|"
run -- hooks/debian/dkms_autoinstaller
check "dkms_autoinstaller without an action: usage, exit 2" is "$rc" 2
check "dkms.triggers declares interest-noawait dkms-rebuild" \
    grep -qx 'interest-noawait dkms-rebuild' hooks/debian/dkms.triggers

# --- the real drivers: run-parts (Debian kernel packages), kernel-install ----------------------
fake_env=(DKMS_BIN="$work/bin/dkms" DKMSD_BIN="$work/bin/dkmsd" DKMS_HOOK_ROOT="$work/root"
    DKMS_HOOK_USE_DAEMON=yes FAKE_LOG="$work/log" TMPDIR="$work/tmp")
if command -v run-parts >/dev/null; then
    mkdir -p "$work/postinst.d"
    cp "$deb/kernel-postinst.d-dkms" "$work/postinst.d/dkms"
    rm -rf "$work/log" && mkdir "$work/log"
    out=$(env "${fake_env[@]}" FAKE_DKMS_RC=11 DKMS_HOOK_LIB="$repo/hooks/lib/dkms-hook-lib.sh" \
        run-parts --report --exit-on-error --arg="$K47" --arg=/boot/vmlinuz "$work/postinst.d" 2>&1)
    check "run-parts --exit-on-error: a failed build does not fail the kernel package" \
        is "$?|$(cat "$work/log/dkms")" "0|kernel_postinst -k $K47"
else
    skip "run-parts not installed"
fi
if command -v kernel-install >/dev/null; then
    mkdir -p "$work/boot" "$work/kiconf"
    echo image >"$work/vmlinuz"
    ki_env=(BOOT_ROOT="$work/boot" MACHINE_ID=0123456789abcdef0123456789abcdef
        KERNEL_INSTALL_CONF_ROOT="$work/kiconf" KERNEL_INSTALL_PLUGINS="$repo/$ki")
    for verb in add remove; do
        rm -rf "$work/log" && mkdir "$work/log"
        out=$(env "${fake_env[@]}" "${ki_env[@]}" FAKE_DKMS_RC=1 kernel-install "$verb" "$K47" \
            "$work/vmlinuz" 2>&1)
        check "kernel-install $verb: the plugin runs, a failure does not abort kernel-install" \
            is "$?|$(head -n 1 "$work/log/dkms")" "0|kernel_$([ $verb = add ] && echo postinst || echo prerm) -k $K47"
    done
else
    skip "kernel-install not installed"
fi

# --- the real dkms, real headers, temporary trees (when bin/dkms is built) ---------------------
real_kver=
for d in /usr/src/linux-headers-*/Module.symvers; do
    [ -f "$d" ] || continue
    real_kver=${d%/Module.symvers}
    real_kver=${real_kver#/usr/src/linux-headers-}
    break
done
if [ -n "$real_kver" ] && timeout 30 bin/dkms --version >/dev/null 2>&1; then
    r=$work/real
    mkdir -p "$r/etc" "$r/src/hello-1.0" "$r/tree" "$r/lib/modules/$real_kver"
    ln -s "/usr/src/linux-headers-$real_kver" "$r/lib/modules/$real_kver/build"
    printf 'source_tree="%s"\ndkms_tree="%s"\ninstall_tree="%s"\n' "$r/src" "$r/tree" "$r/lib/modules" \
        >"$r/etc/framework.conf"
    printf '#include <linux/module.h>\nstatic int __init h(void) { return 0; }\nmodule_init(h);\nMODULE_LICENSE("GPL");\n' \
        >"$r/src/hello-1.0/hello.c"
    echo 'obj-m := hello.o' >"$r/src/hello-1.0/Makefile"
    printf 'PACKAGE_NAME="hello"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="hello"\nDEST_MODULE_LOCATION[0]="/updates"\nAUTOINSTALL="yes"\n' \
        >"$r/src/hello-1.0/dkms.conf"
    real_env=(DKMS_CONFDIR="$r/etc" DKMS_BIN="$repo/bin/dkms" DKMSD_BIN=/nonexistent/dkmsd
        DKMS_HOOK_ROOT="$r" TMPDIR="$work/tmp")
    real() { out=$(env "${real_env[@]}" "$@" 2>&1); rc=$?; }
    real_status() { env "${real_env[@]}" bin/dkms status 2>&1; }
    ko_installed() { [ -n "$(find "$r/lib/modules/$real_kver" -name 'hello.ko*' 2>/dev/null)" ]; }

    real "$helper" add hello 1.0
    check "real dkms: helper add registers the module" is "$rc|$(real_status)" "0|hello/1.0: added"
    real "$deb/kernel-postinst.d-dkms" "$real_kver" "/boot/vmlinuz-$real_kver"
    check "real dkms: postinst hook builds and installs it (no daemon)" \
        is "$rc|$(real_status)" "0|hello/1.0, $real_kver, $(uname -m): installed"
    check "real dkms: ... into the install tree" ko_installed
    real "$deb/kernel-prerm.d-dkms" "$real_kver" "/boot/vmlinuz-$real_kver"
    check "real dkms: prerm hook removes it for that kernel" is "$rc|$(real_status)" "0|hello/1.0: added"
    check "real dkms: ... from the install tree" eval '! ko_installed'
    real "$rpm" in <<<"/lib/modules/$real_kver/vmlinuz
/lib/modules/$real_kver/modules.builtin"
    check "real dkms: rpm trigger builds for the kernel in its file list" \
        is "$rc|$(real_status)" "0|hello/1.0, $real_kver, $(uname -m): installed"
    real "$pac" remove <<<"usr/src/hello-1.0/dkms.conf"
    check "real dkms: pacman remove hook removes the module" is "$rc|$(real_status)" "0|"
    real "$pac" install <<<"usr/src/hello-1.0/dkms.conf"
    check "real dkms: pacman install hook adds and builds the source" \
        is "$rc|$(real_status)" "0|hello/1.0, $real_kver, $(uname -m): installed"
    real "$helper" prerm hello 1.0
    check "real dkms: helper prerm removes it everywhere" is "$rc|$(real_status)" "0|"
    check "real dkms: ... and from the install tree" eval '! ko_installed'
else
    skip "real dkms section: needs a built bin/dkms (npm run build) and kernel headers"
fi

# --- systemd units -----------------------------------------------------------------------------
unit_has() { grep -qx "$2" "systemd/$1"; }
for line in Type=notify NotifyAccess=all 'ExecStart=/usr/sbin/dkmsd run' WatchdogSec=60 \
    Restart=on-failure "ReadOnlyPaths=/usr -/etc"; do
    check "dkmsd.service: $line" unit_has dkmsd.service "$line"
done
for line in ListenStream=/run/dkms/dkmsd.sock SocketMode=0600 FileDescriptorName=control \
    Service=dkmsd.service; do
    check "dkmsd.socket: $line" unit_has dkmsd.socket "$line"
done
for line in ListenStream=/run/dkms/dkmsd-status.sock SocketMode=0666 FileDescriptorName=status \
    Service=dkmsd.service; do
    check "dkmsd-status.socket: $line" unit_has dkmsd-status.socket "$line"
done
check "dkmsd.service takes both sockets" unit_has dkmsd.service \
    'Sockets=dkmsd.socket dkmsd-status.socket'
check "dkmsd.service can write /lib/modules and /boot" \
    grep -qE '^ReadWritePaths=.*/lib/modules.*/boot' systemd/dkmsd.service
if command -v systemd-analyze >/dev/null; then
    # Verified with ExecStart pointing at a program that exists, so only real mistakes remain.
    mkdir -p "$work/units"
    sed 's|^ExecStart=.*|ExecStart=/bin/true|' systemd/dkmsd.service >"$work/units/dkmsd.service"
    cp systemd/dkmsd.socket systemd/dkmsd-status.socket "$work/units/"
    out=$(systemd-analyze verify "$work/units/dkmsd.socket" "$work/units/dkmsd-status.socket" \
        "$work/units/dkmsd.service" 2>&1)
    check "systemd-analyze verify dkmsd.socket dkmsd-status.socket dkmsd.service" is "$?|$out" "0|"
    out=$(systemd-analyze verify systemd/dkmsd.socket systemd/dkmsd-status.socket \
        systemd/dkmsd.service 2>&1 |
        grep -v '/usr/sbin/dkmsd is not executable')
    check "systemd-analyze verify: nothing but the missing /usr/sbin/dkmsd" is "$out" ""
else
    skip "systemd-analyze not installed"
fi

# --- install.sh / uninstall.sh -----------------------------------------------------------------
# A built checkout in miniature: fake dist/, one production and one dev-only dependency.
src=$work/src
mkdir -p "$src/bin" "$src/dist/src/cli" "$src/dist/src/daemon" "$src/dist/test" "$src/docs" \
    "$src/node_modules/prod-dep/node_modules/nested" "$src/node_modules/dev-dep" "$src/completion"
cp -R hooks systemd scripts etc "$src/"
cp bin/dkms bin/dkmsd "$src/bin/"
echo 'console.log("installed dkms:", process.argv.slice(2).join(" "))' >"$src/dist/src/cli/dkms.js"
echo 'process.exit(3)' >"$src/dist/src/daemon/cli.js"
echo 'test' >"$src/dist/test/x.test.js"
echo '{"name":"dkms-ts","version":"0.0.0","type":"module"}' >"$src/package.json"
cat >"$src/package-lock.json" <<'EOF'
{"lockfileVersion": 3, "packages": {"": {},
 "node_modules/prod-dep": {"version": "1.0.0"},
 "node_modules/prod-dep/node_modules/nested": {"version": "1.0.0"},
 "node_modules/dev-dep": {"version": "1.0.0", "dev": true},
 "node_modules/not-for-this-platform": {"version": "1.0.0", "optional": true}}}
EOF
echo x >"$src/node_modules/prod-dep/index.js"
echo x >"$src/node_modules/prod-dep/node_modules/nested/index.js"
echo x >"$src/node_modules/dev-dep/index.js"
echo '.TH DKMS 8' >"$src/docs/dkms.8"
echo '# hooks' >"$src/docs/hooks.md"
echo 'complete -F _dkms dkms' >"$src/completion/dkms.bash"

mv "$src/dist" "$src/dist.away"
out=$(DESTDIR="$work/stage" SRCDIR="$src" bash scripts/install.sh 2>&1)
check "install.sh refuses without dist/" is "$?" 1
check "install.sh says how to build" has "$out" "npm ci && npm run build"
check "install.sh wrote nothing when refusing" is "$(ls -A "$work/stage" 2>/dev/null)" ""
mv "$src/dist.away" "$src/dist"

# DESTDIR=/ with a PREFIX inside $work: a live layout whose commands and hooks can really run.
p=$work/inst
mkdir -p "$p/etc/kernel/postinst.d"
echo 'upstream hook' >"$p/etc/kernel/postinst.d/dkms"
inst_env=(DESTDIR=/ PREFIX="$p/usr" SYSCONFDIR="$p/etc" SRCDIR="$src")
out=$(env "${inst_env[@]}" bash scripts/install.sh 2>&1)
check "install.sh installs" is "$?" 0
[ -f "$p/usr/lib/dkms-ts/MANIFEST" ] || echo "$out"
inst_has() { [ -e "$p/$1" ] || { out="missing $p/$1"; false; }; }
for f in usr/sbin/dkms usr/sbin/dkmsd usr/lib/dkms-ts/bin/dkms usr/lib/dkms-ts/dist/src/cli/dkms.js \
    usr/lib/dkms-ts/package.json usr/lib/dkms-ts/node_modules/prod-dep/index.js \
    usr/lib/dkms-ts/node_modules/prod-dep/node_modules/nested/index.js \
    usr/lib/dkms-ts/hooks/lib/dkms-hook-lib.sh usr/lib/dkms-ts/hooks/debian/dkms-package-helper \
    usr/lib/dkms-ts/hooks/rpm/dkms-rpm-trigger usr/lib/dkms-ts/hooks/pacman/dkms-pacman \
    etc/kernel/postinst.d/dkms etc/kernel/header_postinst.d/dkms etc/kernel/preinst.d/dkms \
    etc/kernel/prerm.d/dkms etc/kernel/install.d/40-dkms.install \
    etc/pacman.d/hooks/70-dkms-install.hook etc/pacman.d/hooks/71-dkms-remove.hook \
    usr/lib/systemd/system/dkmsd.service usr/lib/systemd/system/dkmsd.socket \
    usr/lib/systemd/system/dkmsd-status.socket \
    usr/share/man/man8/dkms.8 usr/share/bash-completion/completions/dkms \
    usr/share/doc/dkms-ts/hooks.md etc/dkms/framework.conf; do
    check "install.sh installed $f" inst_has "$f"
done
check "install.sh left dev dependencies out" is "$(ls "$p/usr/lib/dkms-ts/node_modules")" prod-dep
check "install.sh left compiled tests out" is "$(ls "$p/usr/lib/dkms-ts/dist")" src
check "install.sh moved the existing hook aside" \
    is "$(cat "$p/usr/lib/dkms-ts-backup$p/etc/kernel/postinst.d/dkms")" "upstream hook"
out=$("$p/usr/sbin/dkms" status 2>&1)
check "installed dkms runs the installed code" is "$out" "installed dkms: status"
check "installed hooks point at the installed library and commands" \
    grep -q "$p/usr/lib/dkms-ts/hooks/lib/dkms-hook-lib.sh" "$p/etc/kernel/postinst.d/dkms"
check "installed unit starts the installed dkmsd" grep -qx "ExecStart=$p/usr/sbin/dkmsd run" \
    "$p/usr/lib/systemd/system/dkmsd.service"
out=$(env -i PATH=/usr/bin:/bin DKMS_HOOK_ROOT="$work/root" DKMS_HOOK_USE_DAEMON=yes \
    DKMS_HOOK_VERBOSE=1 "$p/etc/kernel/postinst.d/dkms" "$K47" 2>&1)
check "installed postinst hook: installed dkmsd (no daemon) then installed dkms" \
    has "$out" "installed dkms: kernel_postinst -k $K47"
out=$(env -i PATH=/usr/bin:/bin "$p/etc/kernel/install.d/40-dkms.install" add ../x 2>&1)
check "installed kernel-install plugin rejects a bad version" has "$?|$out" "0|dkms: ignoring"

echo "# edited" >>"$p/etc/dkms/framework.conf"
out=$(env "${inst_env[@]}" bash scripts/install.sh 2>&1)
check "install.sh over an installation replaces it" is "$?" 0
check "... keeping the original aside" \
    is "$(cat "$p/usr/lib/dkms-ts-backup$p/etc/kernel/postinst.d/dkms")" "upstream hook"
out=$(env "${inst_env[@]}" bash scripts/uninstall.sh 2>&1)
check "uninstall.sh succeeds" is "$?" 0
check "uninstall.sh put the original hook back" \
    is "$(cat "$p/etc/kernel/postinst.d/dkms")" "upstream hook"
check "uninstall.sh kept an edited framework.conf" grep -q edited "$p/etc/dkms/framework.conf"
left=$(cd "$p" && find . -mindepth 1 | sort | tr '\n' ' ')
check "uninstall.sh removed everything else" \
    is "$left" "./etc ./etc/dkms ./etc/dkms/framework.conf ./etc/kernel ./etc/kernel/postinst.d ./etc/kernel/postinst.d/dkms "
out=$(env "${inst_env[@]}" bash scripts/uninstall.sh 2>&1)
check "uninstall.sh with nothing installed says so" has "$?|$out" "1|uninstall.sh: no "

out=$(DESTDIR="$work/stage" SRCDIR="$src" bash scripts/install.sh 2>&1)
check "install.sh with DESTDIR stages under it" inst_has "../stage/usr/lib/kernel/install.d/40-dkms.install"
check "... with the default paths in the files" \
    grep -qF '|| dkms_hook_lib=/usr/lib/dkms-ts/hooks/lib/dkms-hook-lib.sh' \
    "$work/stage/etc/kernel/postinst.d/dkms"
check "... and /usr/lib/dkms/common.postinst for upstream-built module packages" \
    inst_has "../stage/usr/lib/dkms/common.postinst"
check "... /usr/lib/dkms/dkms_autoinstaller and /etc/dkms/framework.conf.d/" \
    inst_has "../stage/usr/lib/dkms/dkms_autoinstaller" && [ -d "$work/stage/etc/dkms/framework.conf.d" ]
DESTDIR="$work/stage" bash scripts/uninstall.sh >/dev/null 2>&1
check "uninstall.sh with DESTDIR leaves no file behind" is "$(find "$work/stage" -type f 2>/dev/null)" ""

# --- bash completion ---------------------------------------------------------------------------
complete_words() { # complete_words WORD...: what completing the last word offers, sorted
    (
        # shellcheck disable=SC1091
        . "$repo/completion/dkms.bash"
        # shellcheck disable=SC1091
        . "$repo/completion/dkmsd.bash"
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        "_${1}"
        printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
    )
}
mkdir -p "$work/ctree/hello/1.0/source" "$work/ctree/hello/2.0" "$work/ctree/hello/kernel-6.1.0-47-amd64-x86_64"
check "completion: actions, mkdeb and readiness included" has "$(complete_words dkms mk)" "mkdeb mkdriverdisk mkdsc mkkmp mkrpm mktarball"
check "completion: install offers MODULE/VERSION of the tree" \
    is "$(complete_words dkms install --dkmstree "$work/ctree" h)" "hello/1.0 hello/2.0 "
check "completion: -m offers MODULE/VERSION, not kernel links" \
    is "$(complete_words dkms build --dkmstree "$work/ctree" -m '')" "hello/1.0 hello/2.0 "
check "completion: options" has "$(complete_words dkms install --dry)" "--dry-run"
check "completion: dkmsd notify subcommands" \
    is "$(complete_words dkmsd notify '')" "kernel-added kernel-removed module-added rescan "

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
