import { bashRegexMatch, compareVer } from '../util/version.js';
import { arrayOf, scalarOf, type ConfContext, type RawConf } from './confInputs.js';

const EXCLUSIVE = [
  'BUILD_EXCLUSIVE_KERNEL',
  'BUILD_EXCLUSIVE_KERNEL_MIN',
  'BUILD_EXCLUSIVE_KERNEL_MAX',
  'BUILD_EXCLUSIVE_ARCH',
  'BUILD_EXCLUSIVE_CONFIG',
] as const;
type Exclusive = Record<(typeof EXCLUSIVE)[number], string>;

/** Why one set of BUILD_EXCLUSIVE_* values excludes this kernel/arch/config, or undefined. */
function exclusionBy(values: Exclusive, ctx: ConfContext): string | undefined {
  const kernel = values.BUILD_EXCLUSIVE_KERNEL;
  if (kernel && !bashRegexMatch(kernel, ctx.kernelver))
    return `BUILD_EXCLUSIVE_KERNEL="${kernel}" does not match ${ctx.kernelver}`;
  const min = values.BUILD_EXCLUSIVE_KERNEL_MIN;
  if (min && compareVer(ctx.kernelver, min) < 0)
    return `kernel ${ctx.kernelver} is older than BUILD_EXCLUSIVE_KERNEL_MIN="${min}"`;
  const max = values.BUILD_EXCLUSIVE_KERNEL_MAX;
  if (max && compareVer(ctx.kernelver, max) > 0)
    return `kernel ${ctx.kernelver} is newer than BUILD_EXCLUSIVE_KERNEL_MAX="${max}"`;
  const arch = values.BUILD_EXCLUSIVE_ARCH;
  if (arch && !bashRegexMatch(arch, ctx.arch))
    return `BUILD_EXCLUSIVE_ARCH="${arch}" does not match ${ctx.arch}`;
  const config = values.BUILD_EXCLUSIVE_CONFIG;
  if (config && ctx.kernelConfig) {
    for (const item of config.split(/\s+/).filter(Boolean)) {
      const negated = item.startsWith('!');
      const name = negated ? item.slice(1) : item;
      const value = ctx.kernelConfig.get(name);
      const enabled = value === 'y' || value === 'm';
      if (enabled === negated)
        return `BUILD_EXCLUSIVE_CONFIG="${config}": ${name} is ${enabled ? 'enabled' : 'not enabled'} in this kernel`;
    }
  }
  return undefined;
}

/**
 * dkms 3.4's per-module exclusion: the scalar BUILD_EXCLUSIVE_* (index 0) apply to every
 * module, BUILD_EXCLUSIVE_*[i] to module i; OBSOLETE_BY stands for BUILD_EXCLUSIVE_KERNEL_MAX
 * when no max is set. The whole build is excluded when no module is buildable and the conf
 * has any exclusive directive.
 */
export function moduleExclusions(
  raw: RawConf,
  ctx: ConfContext,
  count: number,
): { excluded: boolean[]; exclusion: string | undefined; perModule: boolean } {
  const value = (name: string, i: number): string => arrayOf(raw, name).get(i) ?? '';
  const global = Object.fromEntries(EXCLUSIVE.map((n) => [n, value(n, 0)])) as Exclusive;
  const obsoleteBy = scalarOf(raw, 'OBSOLETE_BY');
  const anyMax = Array.from({ length: count }, (_, i) =>
    value('BUILD_EXCLUSIVE_KERNEL_MAX', i),
  ).some(Boolean);
  if (obsoleteBy && !global.BUILD_EXCLUSIVE_KERNEL_MAX && !anyMax)
    global.BUILD_EXCLUSIVE_KERNEL_MAX = obsoleteBy;
  let directives = EXCLUSIVE.some((n) => global[n]);
  let firstReason: string | undefined;
  const excluded = Array.from({ length: count }, (_, i) => {
    const own = Object.fromEntries(EXCLUSIVE.map((n) => [n, value(n, i)])) as Exclusive;
    if (EXCLUSIVE.some((n) => own[n])) directives = true;
    const reason = exclusionBy(global, ctx) ?? exclusionBy(own, ctx);
    firstReason ??= reason;
    return reason !== undefined;
  });
  const none = excluded.every(Boolean);
  const exclusion =
    none && directives
      ? (firstReason ??
        exclusionBy(global, ctx) ??
        'BUILD_EXCLUSIVE directives exclude every module')
      : undefined;
  // index 0 of each array is also the global value, so any directive counts once there is a module
  return { excluded, exclusion, perModule: count > 0 && directives };
}
