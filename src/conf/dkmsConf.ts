import { DkmsError } from '../core/errors.js';
import { bashRegexMatch } from '../util/version.js';
import { moduleExclusions } from './buildExclusive.js';
import { arrayLength, arrayOf, scalarOf, type ConfContext, type RawConf } from './confInputs.js';
import { DEPRECATED_DIRECTIVES } from './directives.js';
import { moduleWordProblem, relativePathProblem } from '../util/names.js';

/** One kernel module a package produces (one index of the BUILT_/DEST_ arrays). */
export interface ModuleEntry {
  builtName: string;
  /** Relative to the build directory, '' or ending in '/'. */
  builtLocation: string;
  destName: string;
  /** Where it is installed, after the distribution's remapping (Debian: /updates/dkms). */
  destLocation: string;
  /** DEST_MODULE_LOCATION as the conf wrote it. */
  declaredDestLocation: string;
  strip: boolean;
  /** Per-module BUILD_EXCLUSIVE_*[i] (or the global ones) exclude it for this kernel/arch. */
  excluded: boolean;
}

/** A dkms.conf resolved for one (module, version, kernel, arch). */
export interface DkmsConf {
  packageName: string;
  packageVersion: string;
  modules: ModuleEntry[];
  /** The make command before dkms adds `-j` and KERNELRELEASE. */
  makeCommand: string;
  /** Patch file names (relative to patches/) that apply to this kernel, in order. */
  patches: string[];
  autoinstall: boolean;
  buildDepends: string[];
  buildDependsRebuild: boolean;
  /**
   * Why this kernel/arch is excluded (BUILD_EXCLUSIVE_*, OBSOLETE_BY): set when no module is
   * buildable and the conf has exclusive directives, as dkms 3.4's build_exclude.
   */
  exclusion: string | undefined;
  /** Any BUILD_EXCLUSIVE_*[i] is set for a module index (hides "not installed" on uninstall). */
  hasModuleExclusives: boolean;
  preBuild: string;
  postBuild: string;
  postAdd: string;
  postInstall: string;
  postRemove: string;
  preInstall: string;
  noWeakModules: boolean;
  /** What dkms's strict read (add, build, install) warns about: deprecations, zero modules. */
  warnings: string[];
}

export type { ConfContext } from './confInputs.js';

export type { RawConf } from './confInputs.js';

/** Where each distribution family puts dkms modules, whatever DEST_MODULE_LOCATION says. */
export function remapDestLocation(declared: string, distro: string): string {
  if (/^(fedora|rhel|ovm)/.test(distro)) return '/extra';
  if (/^(sles|suse|opensuse)/.test(distro)) return '/updates';
  if (/^(debian|ubuntu|arch)/.test(distro)) return '/updates/dkms';
  return declared;
}

/**
 * Turns the variables a dkms.conf set into what dkms acts on for one kernel, with upstream's
 * defaults and checks. Pure: everything it needs is in `raw` and `ctx`.
 */
export function resolveDkmsConf(raw: RawConf, ctx: ConfContext): DkmsConf {
  const problems: string[] = [];
  const warnings: string[] = [];
  const packageName = scalarOf(raw, 'PACKAGE_NAME');
  const packageVersion = scalarOf(raw, 'PACKAGE_VERSION');
  if (!packageName) problems.push("No 'PACKAGE_NAME' directive specified.");
  if (!packageVersion) problems.push("No 'PACKAGE_VERSION' directive specified.");
  // These become path components (<tree>/<m>/<v>, <source_tree>/<m>-<v>): checked before use.
  for (const [what, value] of [
    ['PACKAGE_NAME', packageName],
    ['PACKAGE_VERSION', packageVersion],
  ] as const) {
    const why = value ? moduleWordProblem(value) : undefined;
    if (why) problems.push(`'${what}' cannot be used as a path component (${why}): ${value}`);
  }

  const built = arrayOf(raw, 'BUILT_MODULE_NAME');
  const builtLoc = arrayOf(raw, 'BUILT_MODULE_LOCATION');
  const destName = arrayOf(raw, 'DEST_MODULE_NAME');
  const destLoc = arrayOf(raw, 'DEST_MODULE_LOCATION');
  const strip = arrayOf(raw, 'STRIP');
  const count = Math.max(
    arrayLength(built),
    arrayLength(builtLoc),
    arrayLength(destName),
    arrayLength(destLoc),
  );
  const modules: ModuleEntry[] = [];
  let firstStrip = true;
  for (let i = 0; i < count; i++) {
    let builtName = built.get(i) ?? '';
    if (!builtName && count === 1) builtName = packageName;
    let location = builtLoc.get(i) ?? '';
    if (location && !location.endsWith('/')) location += '/';
    const declared = destLoc.get(i) ?? '';
    const stripValue = strip.get(i) ?? '';
    const stripOn: boolean = /^[nN]/.test(stripValue)
      ? false
      : /^[yY]/.test(stripValue)
        ? true
        : firstStrip;
    if (i === 0) firstStrip = stripOn;
    const entry: ModuleEntry = {
      builtName,
      builtLocation: location,
      destName: destName.get(i) || builtName,
      destLocation: '',
      declaredDestLocation: declared,
      strip: stripOn,
      excluded: false,
    };
    if (!builtName) problems.push(`No 'BUILT_MODULE_NAME' directive specified for record #${i}.`);
    if (/\.k?o$/.test(builtName)) {
      problems.push(`'BUILT_MODULE_NAME' directive ends in '.o' or '.ko' in record #${i}.`);
    }
    if (/\.k?o$/.test(entry.destName)) {
      problems.push(`'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in record #${i}.`);
    }
    for (const [what, value] of [
      ['BUILT_MODULE_NAME', builtName],
      ['DEST_MODULE_NAME', entry.destName],
    ] as const) {
      const why = value ? moduleWordProblem(value) : undefined;
      if (why) problems.push(`'${what}' in record #${i} is not a module name (${why}): ${value}`);
    }
    const locationProblem = relativePathProblem(location);
    if (locationProblem) {
      problems.push(
        `'BUILT_MODULE_LOCATION' in record #${i} must stay in the build directory (${locationProblem}): ${location}`,
      );
    }
    if (!declared) {
      problems.push(`No 'DEST_MODULE_LOCATION' directive specified for record #${i}.`);
    } else if (!/^\/(kernel|updates|extra)/.test(declared)) {
      problems.push(
        `Directive 'DEST_MODULE_LOCATION' does not begin with\n'/kernel', '/updates', or '/extra' in record #${i}.`,
      );
    } else if (relativePathProblem(declared)) {
      problems.push(
        `'DEST_MODULE_LOCATION' in record #${i} must stay in the kernel's module tree (${relativePathProblem(declared) ?? ''}): ${declared}`,
      );
    }
    entry.destLocation = remapDestLocation(declared, ctx.distro);
    modules.push(entry);
  }
  for (const name of ['AUTOINSTALL', 'BUILD_DEPENDS_REBUILD', 'NO_WEAK_MODULES']) {
    const value = scalarOf(raw, name);
    if (value && !/^(yes|no)$/i.test(value)) problems.push(`Unsupported ${name} value '${value}'`);
  }
  for (const [array, what] of [
    [modules.map((m) => `${m.builtLocation}${m.builtName}`), 'BUILT_MODULE_NAME'],
    [modules.map((m) => m.destName), 'DEST_MODULE_NAME'],
  ] as const) {
    array.forEach((name, i) => {
      if (array.indexOf(name) < i) problems.push(`Duplicate module '${name}' in '${what}[${i}]'.`);
    });
  }
  const autoinstallValue = scalarOf(raw, 'AUTOINSTALL');

  const patches = resolvePatches(raw, ctx.kernelver);
  for (const patch of patches) {
    if (relativePathProblem(patch)) {
      throw new DkmsError(
        'BAD_PATH',
        `Patch ${patch} as specified in dkms.conf contains '..' path component.`,
      );
    }
  }

  if (problems.length > 0) {
    throw new DkmsError(
      'CONF_INVALID',
      `Bad conf file.\nFile: ${ctx.shownConfPath ?? ''} does not represent a valid dkms.conf file.`,
      { preface: problems.map((p) => `dkms.conf: Error! ${p}`).join('\n') },
    );
  }

  for (const name of DEPRECATED_DIRECTIVES) {
    if (!raw.has(name)) continue;
    if (name === 'CLEAN' && /^(true|\/bin\/true|\/usr\/bin\/true)$/.test(scalarOf(raw, name)))
      continue;
    warnings.push(`Deprecated feature: ${name} (${ctx.confPath})`);
  }
  if (raw.has('OBSOLETE_BY')) {
    warnings.push(
      `Deprecated feature: OBSOLETE_BY (${ctx.confPath}): use BUILD_EXCLUSIVE_KERNEL_MAX instead`,
    );
  }
  if (count === 0) warnings.push('dkms.conf: Warning! Zero modules specified.');
  const exclusives = moduleExclusions(raw, ctx, modules.length);
  modules.forEach((m, i) => (m.excluded = exclusives.excluded[i] ?? false));

  return {
    packageName,
    packageVersion,
    modules,
    makeCommand: resolveMakeCommand(raw, ctx),
    patches,
    autoinstall: /^yes$/i.test(autoinstallValue),
    buildDepends: [...arrayOf(raw, 'BUILD_DEPENDS').values()].filter(Boolean),
    buildDependsRebuild: /^y/i.test(scalarOf(raw, 'BUILD_DEPENDS_REBUILD')),
    exclusion: exclusives.exclusion,
    hasModuleExclusives: exclusives.perModule,
    preBuild: scalarOf(raw, 'PRE_BUILD'),
    postBuild: scalarOf(raw, 'POST_BUILD'),
    postAdd: scalarOf(raw, 'POST_ADD'),
    postInstall: scalarOf(raw, 'POST_INSTALL'),
    postRemove: scalarOf(raw, 'POST_REMOVE'),
    preInstall: scalarOf(raw, 'PRE_INSTALL'),
    noWeakModules: Boolean(scalarOf(raw, 'NO_WEAK_MODULES')),
    warnings,
  };
}

/** `MAKE_<text>` / `PATCH_<text>` variables whose text occurs in the kernel release. */
function substringForms(raw: RawConf, prefix: 'MAKE_' | 'PATCH_', kernelver: string): string[] {
  return [...raw.keys()]
    .filter((name) => name.startsWith(prefix) && name !== `${prefix}MATCH`)
    .sort()
    .filter((name) => kernelver.includes(name.slice(prefix.length)))
    .map((name) => scalarOf(raw, name))
    .filter(Boolean);
}

/**
 * MAKE[0] unless MAKE_MATCH[0] is set; then the old MAKE_<text> forms that match; then every
 * MAKE[i] whose MAKE_MATCH[i] matches the kernel (the last one wins), as dkms does.
 */
export function resolveMakeCommand(raw: RawConf, ctx: ConfContext): string {
  const make = arrayOf(raw, 'MAKE');
  const match = arrayOf(raw, 'MAKE_MATCH');
  let command = match.get(0) ? '' : (make.get(0) ?? '');
  const old = substringForms(raw, 'MAKE_', ctx.kernelver);
  if (old.length > 0) command = old[old.length - 1] ?? command;
  for (let i = 0; i < arrayLength(make); i++) {
    const cmd = make.get(i);
    const regex = match.get(i);
    if (cmd && regex && bashRegexMatch(regex, ctx.kernelver)) command = cmd;
  }
  if (!command) {
    command = `make -C ${ctx.kernelSourceDir} M=${ctx.dkmsTree}/${ctx.module}/${ctx.moduleVersion}/build`;
  }
  if (ctx.kernelConfig?.get('CONFIG_CC_IS_CLANG') === 'y') command += ' CC=clang';
  if (ctx.kernelConfig?.get('CONFIG_LD_IS_LLD') === 'y') command += ' LD=ld.lld';
  return command;
}

/** PATCH[i] where PATCH_MATCH[i] is empty or matches, then the old PATCH_<text> forms. */
export function resolvePatches(raw: RawConf, kernelver: string): string[] {
  const patch = arrayOf(raw, 'PATCH');
  const match = arrayOf(raw, 'PATCH_MATCH');
  const result: string[] = [];
  for (let i = 0; i < arrayLength(patch); i++) {
    const name = patch.get(i);
    const regex = match.get(i);
    if (name && (!regex || bashRegexMatch(regex, kernelver))) result.push(name);
  }
  result.push(...substringForms(raw, 'PATCH_', kernelver));
  return result;
}
