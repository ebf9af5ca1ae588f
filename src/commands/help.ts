import type { Action } from './args.js';

export { DKMS_VERSION as VERSION } from '../core/version.js';

export const USAGE = `Usage: dkms [action] [options]
  [action]  = { add | remove | build | unbuild | install | uninstall | match |
               autoinstall | mktarball | ldtarball | status | generate_mok |
               kernel_preinst | kernel_postinst | kernel_prerm | doctor | sign | readiness |
               mkdeb | mkbmdeb | mkdsc | mkrpm | mkkmp | mkdriverdisk }
  [options] = [-m module] [-v module-version] [-k kernel-version] [-a arch]
              [-c dkms.conf-location] [-q] [--force] [--force-version-override] [--all]
              [--templatekernel=kernel] [--directive='cli-directive=cli-value']
              [--config=kernel-include/config/auto.conf-location] [--archive=tarball-location]
              [--kernelsourcedir=source-location] [--rpm_safe_upgrade]
              [--dkmstree path] [--sourcetree path] [--installtree path] [--confdir path]
              [--binaries-only] [--source-only] [--verbose] [--json]
              [--no-depmod] [--modprobe-on-install] [-j number] [--dry-run]
              [--version] [--help]

Run 'dkms ACTION --help' for what an action does. See dkms(8).`;

const common = `
Common options:
  -m MODULE[/VERSION]   the module (or MODULE/VERSION as a plain argument)
  -v VERSION            the module version
  -k KERNEL[/ARCH]      kernel release (repeatable; default: the running kernel)
  -a ARCH               architecture for the matching -k (default: uname -m)
  --dkmstree DIR        state tree (default /var/lib/dkms, or framework.conf)
  --sourcetree DIR      module sources (default /usr/src)
  --installtree DIR     kernel module tree (default /lib/modules)
  --confdir DIR         dkms configuration (default /etc/dkms; env DKMS_CONFDIR)
  --kernelsourcedir DIR kernel headers to build against (default INSTALLTREE/KERNEL/build)
  --directive NAME=VAL  override a dkms.conf directive
  -c FILE               use FILE instead of the module's dkms.conf
  -j N                  parallel make jobs (default: framework.conf parallel_jobs, or nproc);
                        0: make -j without a limit
  --verbose             show the commands run; -q: print nothing`;

const journaled = `--dry-run prints the plan, one step a line, and changes nothing. The steps
are journaled in DKMS_TREE/MODULE/.dkms-journal: a command killed halfway is finished (or
rolled back) by the next command on the module, or by dkmsd when it starts.`;

const actions: Record<Action, string> = {
  add: `dkms add [MODULE/VERSION | -m MODULE -v VERSION | DIR | DIR/dkms.conf | TARBALL]
Registers a module source with DKMS: creates DKMS_TREE/MODULE/VERSION with its source link.
A directory holding a dkms.conf is copied to SOURCE_TREE/MODULE-VERSION first. Runs POST_ADD.`,
  build: `dkms build MODULE/VERSION [-k KERNEL[/ARCH]]... [--force]
Builds the module for each kernel (adding it first when needed): copies the source, applies
patches, runs PRE_BUILD, make, POST_BUILD, and stores the modules in
DKMS_TREE/MODULE/VERSION/KERNEL/ARCH/module with the log in .../log/make.log.
A BUILD_EXCLUSIVE / OBSOLETE_BY mismatch skips the build (exit 77).`,
  install: `dkms install MODULE/VERSION [-k KERNEL[/ARCH]]... [--force] [--no-depmod] [--dry-run]
Installs the built modules (building first when needed) into INSTALL_TREE/KERNEL, backs up
an original module of the same name, records the kernel-KERNEL-ARCH link and runs depmod.
${journaled}`,
  uninstall: `dkms uninstall MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--dry-run]
Removes the installed modules, restores any original module, runs depmod. Stays built.
${journaled}`,
  unbuild: `dkms unbuild MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--dry-run]
Uninstalls, then deletes the build for each kernel.
${journaled}`,
  remove: `dkms remove MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--dry-run]
Uninstalls and unbuilds; with no kernel left, unregisters MODULE/VERSION from the tree.
${journaled}`,
  status: `dkms status [MODULE[/VERSION]] [-k KERNEL[/ARCH]] [--json]
Prints one line per module/version/kernel/arch:
  MODULE/VERSION, KERNEL, ARCH: installed|built [(annotations)]
  MODULE/VERSION: added|broken
--json prints the documented, versioned schema (docs/json-schema.md).`,
  match: `dkms match --templatekernel=KERNEL -k KERNEL2 [MODULE]
Installs on KERNEL2 every module installed on KERNEL.`,
  autoinstall: `dkms autoinstall [-k KERNEL[/ARCH]] [--dry-run]
Builds and installs, for the kernel, the newest version of every module with AUTOINSTALL=yes
that is not installed yet, in BUILD_DEPENDS order. Exit 11 if any failed.
--dry-run prints what it would build and install, and changes nothing.`,
  mktarball: `dkms mktarball MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--archive FILE]
               [--source-only | --binaries-only]
Archives the module's source and its built modules for each kernel (default: the running
kernel; they must be built) in upstream's DKMS tarball format:
DKMS_TREE/MODULE/VERSION/tarball/MODULE-VERSION-kernelKERNEL-ARCH.dkms.tar.gz.
--archive FILE names the file (in FILE's directory when it has one). --source-only: no
modules; --binaries-only: no source (dkms.conf only). Load it with ldtarball. See
docs/mkpackages.md.`,
  ldtarball: `dkms ldtarball TARBALL [--force]
Loads a tarball made by mktarball (or any tarball holding a dkms.conf): the source goes to
SOURCE_TREE/MODULE-VERSION, prebuilt modules into DKMS_TREE as built, and the module is
added. Refuses a module already added, and keeps existing builds, unless --force. Archives
with absolute paths, '..' members, escaping links or device files are refused before
anything is extracted. Install the modules afterwards with dkms install.`,
  generate_mok: `dkms generate_mok
Creates the module signing key and certificate (framework.conf mok_signing_key /
mok_certificate, default DKMS_TREE/mok.key and mok.pub) when both are missing. An existing
key or certificate is never replaced and no directory is created: then modules are not
signed, and the command says why and exits 1.`,
  kernel_preinst: `dkms kernel_preinst -k KERNEL
Before a kernel package is installed: unbuilds the AUTOINSTALL modules built for it.`,
  kernel_postinst: `dkms kernel_postinst -k KERNEL
After a kernel (or its headers) is installed: autoinstall for exactly that kernel.`,
  kernel_prerm: `dkms kernel_prerm -k KERNEL
Before a kernel is removed: unbuilds every module built for it, then one depmod.`,
  doctor: `dkms doctor [-m MODULE] [-k KERNEL]... [--json] [--verbose] [--fix]
Checks every kernel (or the -k ones) and every module installed for it: headers, vermagic,
built = installed, signature (and Secure Boot enrollment), compression, modules.dep,
initramfs, shadowing, commands interrupted halfway and their leftovers, and whether builds
run in the bubblewrap sandbox. Each finding names
the fix; --verbose also lists passed checks. Exit 1 when something is wrong (an error).
--fix finishes interrupted commands, deletes their leftovers and runs the depmod that is
missing, then checks again. --json: docs/doctor.md.`,
  sign: `dkms sign --all | -m MODULE [-v VERSION] [-k KERNEL[/ARCH]]...
Re-signs installed modules with the signing key framework.conf names now (mok_signing_key,
mok_certificate; default DKMS_TREE/mok.key and mok.pub), e.g. after enrolling a new MOK:
cuts off the old signature, signs with sign-file, keeps the compression, and replaces the
built copy in DKMS_TREE and the installed one. Kernels without CONFIG_MODULE_SIG_HASH are
skipped. No rebuild, no depmod; an initramfs holding the modules needs regenerating.
Exit 1 when a module could not be signed. See docs/signing.md.`,
  readiness: `dkms readiness [-k KERNEL]... [--json] [--policy]
Shows each kernel's readiness record: ready, missing-modules (which AUTOINSTALL modules
failed, with their make.log) or building, as the last dkms autoinstall / kernel_postinst or
dkmsd left it in DKMS_TREE/.readiness/KERNEL.json. Exit 0 when every kernel shown is ready,
1 when one has missing modules, 3 when one is still building, 4 when one has no record.
--policy prints framework.conf's autoinstall_failure (fail, warn or defer; default warn), which
the package hooks follow. See docs/readiness.md.`,
  mkdeb: `dkms mkdeb MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--source-only | --binaries-only]
Builds DKMS_TREE/MODULE/VERSION/deb/MODULE-dkms_VERSION_all.deb with dpkg-deb: the source in
/usr/src/MODULE-VERSION, a postinst running dkms add/build/install for every kernel with
headers and a prerm running dkms remove --all. With -k/--all the built modules of those
kernels ride along (the package becomes _ARCH.deb and its postinst loads them with
ldtarball); --source-only never includes them. --binaries-only does what mkbmdeb does.`,
  mkbmdeb: `dkms mkbmdeb MODULE/VERSION [-k KERNEL[/ARCH]]... | --all
Builds, per kernel (default: the running kernel; the module must be built for it),
DKMS_TREE/MODULE/VERSION/deb/MODULE-modules-KERNEL_VERSION_ARCH.deb holding only the built
modules under /lib/modules/KERNEL (DEST_MODULE_LOCATION as dkms install uses it, e.g.
updates/dkms) and running depmod. It needs neither dkms nor a compiler on the target.`,
  mkdsc: `dkms mkdsc MODULE/VERSION
Builds a Debian source package with dpkg-source (dpkg-dev) into DKMS_TREE/MODULE/VERSION/dsc/:
MODULE-dkms_VERSION.dsc + .tar.gz (format 3.0 (native)). It builds the same MODULE-dkms
package as mkdeb with dpkg-buildpackage, using dpkg-dev alone (no debhelper).`,
  mkrpm: `dkms mkrpm MODULE/VERSION [-k KERNEL[/ARCH]]... | --all [--source-only]
Builds DKMS_TREE/MODULE/VERSION/rpm/MODULE-dkms-VERSION-1.noarch.rpm with rpmbuild: the source
in /usr/src/MODULE-VERSION, %post running dkms add/build/install, %preun running dkms remove
--all, and a "Provides: modalias(...)" line for every "modinfo -F alias" of the built modules
(of the -k kernels, else of every kernel the module is built for). With -k/--all the built
modules ride along (an ARCH RPM whose %post loads them with ldtarball).`,
  mkkmp: `dkms mkkmp MODULE/VERSION
Not supported in this version: exits 1. (dkms 2.x built SUSE Kernel Module Package source RPMs
from a --spec file.) Use mkrpm.`,
  mkdriverdisk: `dkms mkdriverdisk MODULE/VERSION -k KERNEL
Not supported in this version: exits 1. (dkms 2.x built installer driver-update disk images.)
Use mkbmdeb, or mkrpm -k KERNEL, for packages carrying prebuilt modules.`,
};

export function actionHelp(action: Action): string {
  return `${actions[action]}\n${common}`;
}
