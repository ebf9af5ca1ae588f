/**
 * Every variable dkms 3.x accepts from a dkms.conf (the rest of the script stays there), but
 * for the original design's per-kernel forms `MAKE_<text>` / `PATCH_<text>`, asked for by name
 * when a conf sets them (see legacyVariables).
 */
export const DKMS_CONF_VARIABLES = [
  'PACKAGE_NAME',
  'PACKAGE_VERSION',
  'POST_ADD',
  'POST_BUILD',
  'POST_INSTALL',
  'POST_REMOVE',
  'PRE_BUILD',
  'PRE_INSTALL',
  'BUILD_DEPENDS',
  'BUILD_DEPENDS_REBUILD',
  'BUILD_EXCLUSIVE_ARCH',
  'BUILD_EXCLUSIVE_CONFIG',
  'BUILD_EXCLUSIVE_KERNEL',
  'BUILD_EXCLUSIVE_KERNEL_MIN',
  'BUILD_EXCLUSIVE_KERNEL_MAX',
  'OBSOLETE_BY',
  'MAKE',
  'MAKE_MATCH',
  'PATCH',
  'PATCH_MATCH',
  'BUILT_MODULE_NAME',
  'BUILT_MODULE_LOCATION',
  'DEST_MODULE_NAME',
  'DEST_MODULE_LOCATION',
  'STRIP',
  'AUTOINSTALL',
  'NO_WEAK_MODULES',
  'CLEAN',
  'REMAKE_INITRD',
  'MODULES_CONF',
  'MODULES_CONF_OBSOLETES',
  'MODULES_CONF_ALIAS_TYPE',
  'MODULES_CONF_OBSOLETE_ONLY',
] as const;

/** Accepted for compatibility; upstream ignores them and warns. */
export const DEPRECATED_DIRECTIVES = [
  'CLEAN',
  'REMAKE_INITRD',
  'MODULES_CONF',
  'MODULES_CONF_OBSOLETES',
  'MODULES_CONF_ALIAS_TYPE',
  'MODULES_CONF_OBSOLETE_ONLY',
] as const;
