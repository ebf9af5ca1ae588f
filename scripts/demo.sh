#!/bin/bash
# The dkms-ts demo: a module gets rebuilt by itself when a new kernel arrives.
#
#   bash scripts/demo.sh            (as root on a fresh Debian 12 machine)
#   DEMO_KEEP=1 bash scripts/demo.sh  keeps the sandbox under /tmp for a look around
#
# Everything happens in a sandbox under /tmp: the real /lib/modules, /var/lib/dkms and /etc/dkms
# are never touched. Only the installed kernel headers (/usr/src/linux-headers-*) are read.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
OLD_KERNEL=6.1.0-47-amd64
NEW_KERNEL=6.1.0-50-amd64
MODULE=dkms-hello
VERSION=1.0
REBUILD_TIMEOUT=${DEMO_TIMEOUT:-300}

bold=
plain=
if [ -t 1 ]; then
    bold=$(tput bold 2>/dev/null || :)
    plain=$(tput sgr0 2>/dev/null || :)
fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   %s\n' "$@"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$plain"; }
indent() { sed -e '/^[[:space:]]*$/d' -e 's/^/   /'; }
die() {
    printf '\n%sdemo: FAILED: %s%s\n' "$bold" "$*" "$plain" >&2
    exit 1
}

SANDBOX=
DAEMON_PID=
cleanup() {
    local status=$?
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || :
        wait "$DAEMON_PID" 2>/dev/null || :
    fi
    if [ -n "$SANDBOX" ] && [ -d "$SANDBOX" ]; then
        if [ -n "${DEMO_KEEP:-}" ] || [ "$status" != 0 ]; then
            echo "demo: the sandbox stays in $SANDBOX (daemon log: $SANDBOX/dkmsd.log)"
        else
            rm -rf "$SANDBOX"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 0. set up ----------------------------------------------------------------------------------
step "Setting up: system packages (kernel headers, compiler), node modules, the build"
bash "$REPO/scripts/setup.sh" 2>&1 | indent
for kernel in "$OLD_KERNEL" "$NEW_KERNEL"; do
    [ -f "/usr/src/linux-headers-$kernel/Makefile" ] ||
        die "the headers of $kernel are not installed (run as root: apt-get install linux-headers-$kernel)"
done
command -v modinfo >/dev/null || die "modinfo is missing (apt-get install kmod)"

# --- 1. sandbox ---------------------------------------------------------------------------------
SANDBOX=$(mktemp -d /tmp/dkms-demo.XXXXXX)
SRC=$SANDBOX/usr/src
TREE=$SANDBOX/var/lib/dkms
LIB=$SANDBOX/lib/modules
CONFDIR=$SANDBOX/etc/dkms
mkdir -p "$SRC" "$TREE" "$LIB" "$CONFDIR" "$SANDBOX/run"
# framework.conf tells dkms and dkmsd where the trees are; the explicit options below say it too,
# so that nothing can fall back to the real /var/lib/dkms.
cat >"$CONFDIR/framework.conf" <<EOF
source_tree="$SRC"
dkms_tree="$TREE"
install_tree="$LIB"
EOF
export DKMS_CONFDIR=$CONFDIR DKMSD_SOCKET=$SANDBOX/run/dkmsd.sock
# The machine "runs" the old kernel (the real running kernel has no headers here).
export DKMS_RUNNING_KERNEL=$OLD_KERNEL
dkms() {
    "$REPO/bin/dkms" "$@" --dkmstree "$TREE" --sourcetree "$SRC" --installtree "$LIB" \
        --confdir "$CONFDIR"
}
dkmsd() { "$REPO/bin/dkmsd" "$@"; }
# kernel_arrives KERNEL: what installing linux-headers-KERNEL does to /lib/modules.
kernel_arrives() {
    mkdir -p "$LIB/$1"
    ln -s "/usr/src/linux-headers-$1" "$LIB/$1/build"
}

step "A sandbox in $SANDBOX"
say "DKMS builds kernel modules from source, once for every kernel installed, and"
say "installs them under /lib/modules/<kernel>. Here its three directories live in the sandbox:" \
    "  usr/src       module sources (one directory per module and version)" \
    "  var/lib/dkms  dkms's own tree: what is added, built, installed" \
    "  lib/modules   the kernels' module directories; 'build' links to a kernel's headers"
say "(below, 'dkms' is bin/dkms of this checkout, pointed at those directories)"

step "The module: examples/$MODULE-$VERSION, copied to usr/src/$MODULE-$VERSION"
cp -R "$REPO/examples/$MODULE-$VERSION" "$SRC/$MODULE-$VERSION"
say "A C file, a one-line Makefile and dkms.conf, which tells DKMS how to build it:"
grep -v '^#' "$SRC/$MODULE-$VERSION/dkms.conf" | indent

# --- 2. the usual dkms workflow for the kernel we run -----------------------------------------------
step "Kernel $OLD_KERNEL is installed; register the module and build it for that kernel"
kernel_arrives "$OLD_KERNEL"
show "dkms add -m $MODULE -v $VERSION"
dkms add -m "$MODULE" -v "$VERSION" 2>&1 | indent || die "dkms add failed"
[ -L "$TREE/$MODULE/$VERSION/source" ] || die "dkms add did not register $MODULE/$VERSION in $TREE"
show "dkms install -m $MODULE -v $VERSION -k $OLD_KERNEL"
dkms install -m "$MODULE" -v "$VERSION" -k "$OLD_KERNEL" 2>&1 | indent ||
    die "dkms install failed for $OLD_KERNEL"
say "(dkms signs the module for Secure Boot; its key was made inside the sandbox)"
show "dkms status"
dkms status | indent

# --- 3. the daemon --------------------------------------------------------------------------------
step "Start dkmsd, the daemon that rebuilds modules when kernels come and go"
INITRAMFS_STANDIN=$SANDBOX/initramfs-standin
cat >"$INITRAMFS_STANDIN" <<EOF
#!/bin/sh
# Stands in for update-initramfs: the demo does not touch the real /boot.
echo "would run: update-initramfs -u -k \$1" >>"$SANDBOX/initramfs.log"
EOF
chmod 755 "$INITRAMFS_STANDIN"
cat >"$CONFDIR/dkmsd.conf" <<EOF
dkms_tree = $TREE
source_tree = $SRC
install_tree = $LIB
conf_dir = $CONFDIR
socket = $DKMSD_SOCKET
debounce_ms = 500
initramfs_command = $INITRAMFS_STANDIN
udev_command =
log_level = info
EOF
say "It watches lib/modules, and package hooks can poke it on its socket. When a kernel's" \
    "headers appear it builds every module marked AUTOINSTALL for it, then runs depmod and" \
    "regenerates the initramfs once (a stand-in here, printing what it would run)."
show "dkmsd run --config etc/dkms/dkmsd.conf &"
"$REPO/bin/dkmsd" run --config "$CONFDIR/dkmsd.conf" >"$SANDBOX/dkmsd.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do
    dkmsd status >/dev/null 2>&1 && break
    kill -0 "$DAEMON_PID" 2>/dev/null || die "dkmsd exited at start: $(tail -n 5 "$SANDBOX/dkmsd.log")"
    sleep 0.1
done
dkmsd status >/dev/null 2>&1 || die "dkmsd did not answer on $DKMSD_SOCKET within 10 s"
say "dkmsd is running (pid $DAEMON_PID)."

# --- 4. a new kernel arrives ------------------------------------------------------------------------
step "A new kernel arrives: $NEW_KERNEL"
say "Installing linux-headers-$NEW_KERNEL creates lib/modules/$NEW_KERNEL/build; the demo" \
    "makes that link to the installed headers. Nobody runs dkms: dkmsd notices by itself."
show "ln -s /usr/src/linux-headers-$NEW_KERNEL lib/modules/$NEW_KERNEL/build"
kernel_arrives "$NEW_KERNEL"
printf '   waiting for dkmsd to rebuild %s/%s for %s ' "$MODULE" "$VERSION" "$NEW_KERNEL"
started=$SECONDS
until dkms status -m "$MODULE" -v "$VERSION" -k "$NEW_KERNEL" 2>/dev/null | grep -q ': installed'; do
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        echo
        die "dkmsd stopped; the end of its log: $(tail -n 5 "$SANDBOX/dkmsd.log")"
    fi
    if ((SECONDS - started > REBUILD_TIMEOUT)); then
        echo
        die "$MODULE/$VERSION was not installed for $NEW_KERNEL within $REBUILD_TIMEOUT s; see dkmsd status and $SANDBOX/dkmsd.log"
    fi
    printf '.'
    sleep 1
done
# The module is in place; the kernel is finished once depmod and the initramfs ran too.
until grep -q "\"kernel\":\"$NEW_KERNEL\".*\"msg\":\"kernel finished\"" "$SANDBOX/dkmsd.log"; do
    ((SECONDS - started <= REBUILD_TIMEOUT)) || die "dkmsd did not finish $NEW_KERNEL"
    sleep 0.2
done
echo " done in $((SECONDS - started)) s"

show "dkms status"
dkms status | indent
ko=$(find "$LIB/$NEW_KERNEL" -name 'dkms_hello.ko*' -print -quit)
[ -n "$ko" ] || die "no dkms_hello.ko under lib/modules/$NEW_KERNEL"
show "modinfo -F vermagic ${ko#"$SANDBOX/"}"
modinfo -F vermagic "$ko" | indent
modinfo -F vermagic "$ko" | grep -q "^$NEW_KERNEL " || die "$ko was not built for $NEW_KERNEL"
say "(vermagic: the kernel the module was built for; a kernel refuses modules of another)"
show "cat initramfs.log"
indent <"$SANDBOX/initramfs.log"

show "dkmsd status"
dkmsd status | indent

# --- 5. stop ----------------------------------------------------------------------------------------
step "Stopping dkmsd; what it logged"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || die "dkmsd exited with status $? on SIGTERM"
DAEMON_PID=
say "dkmsd logs JSON lines on stdout (journald keeps them under systemd); the main ones:"
# One line per record: time, level, message, and the few fields that say what happened.
# shellcheck disable=SC2016  # JavaScript, not shell
node -e '
const levels = { 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const mv = (r) => `${r.module}/${r.version} for ${r.kernel}`;
const describe = {
  "dkmsd started": (r) => `running kernel ${r.runningKernel}`,
  "catch-up finished": (r) => `${r.kernels.join(" ")}: ${r.installed} installed, ${r.failed} failed`,
  "kernel headers appeared": (r) => `${r.kernel} (${r.headers})`,
  "planned builds": (r) => `${r.jobs.join(" ")} for ${r.kernel}`,
  "build started": mv,
  "build finished": (r) => `${mv(r)}: ${r.status} in ${(r.durationMs / 1000).toFixed(1)} s`,
  "kernel finished": (r) =>
    `${r.kernel}: ${r.result}; installed ${r.installed.join(" ") || "nothing"}; depmod ${r.depmod}, initramfs ${r.initramfs}`,
  stopping: (r) => r.reason,
  stopped: () => "",
};
for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
  let r;
  try { r = JSON.parse(line); } catch { continue; }
  const text = describe[r.msg];
  if (!text && r.level < 40) continue;
  if (r.msg === "kernel finished" && !r.installed.length && !r.failed.length) continue;
  const level = (levels[r.level] ?? String(r.level)).padEnd(5);
  const detail = text ? text(r) : "";
  console.log(`   ${r.time.slice(11, 19)} ${level} ${r.msg}${detail ? ": " + detail : ""}`);
}' "$SANDBOX/dkmsd.log"

if [ -n "${DEMO_KEEP:-}" ]; then
    say "" "The sandbox stays in $SANDBOX (DEMO_KEEP=1)."
else
    say "" "The sandbox is removed now (DEMO_KEEP=1 keeps it)."
fi
say "On a real system: sudo scripts/install.sh; sudo systemctl enable --now dkmsd.socket dkmsd-status.socket dkmsd.service" \
    "(docs/demo.md says more)."
