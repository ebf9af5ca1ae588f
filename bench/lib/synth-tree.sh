#!/bin/bash
# Lay out a dkms state as dkms itself would have left it, without building anything: placeholder
# .ko files stand in for built and installed modules.
#
#   bench/lib/synth-tree.sh ROOT MODULES KERNEL...
#
# ROOT gets src/ (sources with a dkms.conf), tree/ (the dkms tree), lib/modules/ (the install
# tree, with one directory per KERNEL) and etc/dkms/ (an empty conf dir). Module i is
# `benchmod<i>/<i>.0`, built for every KERNEL and installed in /updates/dkms, except that, so
# that `dkms status` has more than one kind of line to print:
#   every 7th module is built but not installed for the last KERNEL,
#   every 11th has an original_module directory for the first KERNEL,
#   every 13th has an installed copy that differs from the built one for the last KERNEL.
# Every 5th dkms.conf computes its values in shell, as many real ones do.
set -euo pipefail

(($# >= 3)) || {
    echo "usage: $0 ROOT MODULES KERNEL..." >&2
    exit 2
}
root=$1 count=$2
shift 2
kernels=("$@")
first=${kernels[0]} last=${kernels[-1]}
arch=$(uname -m)

mkdir -p "$root/src" "$root/tree" "$root/etc/dkms"
for kernel in "${kernels[@]}"; do mkdir -p "$root/lib/modules/$kernel"; done

write_conf() { # module version index
    local conf=$root/src/$1-$2/dkms.conf
    mkdir -p "${conf%/*}"
    if (($3 % 5 == 0)); then
        cat >"$conf" <<EOF
PACKAGE_NAME="$1"
PACKAGE_VERSION="\$(echo $2)"
if [ -n "\$kernelver" ]; then
    BUILT_MODULE_NAME[0]="\${PACKAGE_NAME}"
fi
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build"
DEST_MODULE_LOCATION[0]="/updates"
AUTOINSTALL="yes"
EOF
    else
        printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="%s"\nBUILT_MODULE_NAME[0]="%s"\nDEST_MODULE_LOCATION[0]="/extra"\nAUTOINSTALL="yes"\n' \
            "$1" "$2" "$1" >"$conf"
    fi
}

for ((i = 1; i <= count; i++)); do
    module=benchmod$i version=$i.0
    write_conf "$module" "$version" "$i"
    mkdir -p "$root/tree/$module/$version/build"
    ln -s "$root/src/$module-$version" "$root/tree/$module/$version/source"
    for kernel in "${kernels[@]}"; do
        built=$root/tree/$module/$version/$kernel/$arch
        mkdir -p "$built/module" "$built/log"
        printf '%s %s for %s: placeholder, not an ELF object\n' "$module" "$version" "$kernel" >"$built/module/$module.ko"
        printf 'DKMS make.log for %s-%s for kernel %s (%s)\n' "$module" "$version" "$kernel" "$arch" >"$built/log/make.log"
        ((i % 7 == 0)) && [[ $kernel == "$last" ]] && continue
        mkdir -p "$root/lib/modules/$kernel/updates/dkms"
        cp "$built/module/$module.ko" "$root/lib/modules/$kernel/updates/dkms/"
        ln -s "$version/$kernel/$arch" "$root/tree/$module/kernel-$kernel-$arch"
        if ((i % 13 == 0)) && [[ $kernel == "$last" ]]; then
            echo 'changed after install' >>"$root/lib/modules/$kernel/updates/dkms/$module.ko"
        fi
        if ((i % 11 == 0)) && [[ $kernel == "$first" ]]; then
            mkdir -p "$root/tree/$module/original_module/$kernel/$arch"
        fi
    done
done
