import { dirname } from 'node:path';
import type { KernelFacts, ModuleFileFacts } from './facts.js';
import type { FileChecker } from './fileChecker.js';
import type { Finding } from './findings.js';
import { entriesForModule } from './initramfs.js';
import { depmodCommand, initramfsUpdateCommand } from './kernelChecks.js';
import { suffixOf } from '../kernel/moduleImage.js';
import { depByName } from './modulesDep.js';

/** Where the module sits among the kernel's modules: modules.dep, same-named modules, initramfs. */
export function depAndShadowFindings(
  k: KernelFacts,
  f: ModuleFileFacts,
  c: FileChecker,
): Finding[] {
  if (k.builtin.has(f.name)) {
    return [
      c.finding(
        'shadowing',
        'error',
        `${k.kernel} has ${f.name} built in: this module can never be loaded.`,
        `${c.ref.module} is not needed on ${k.kernel}: dkms remove ${c.ref.module}/${c.ref.version} -k ${k.kernel}`,
      ),
    ];
  }
  const others = (k.filesByName.get(f.name) ?? []).filter((path) => path !== f.installedRelative);
  if (!k.modulesDep) {
    if (others.length === 0)
      return [c.finding('shadowing', 'ok', `No other ${f.name} module in ${k.kernel}'s tree.`)];
    return [
      c.finding(
        'shadowing',
        'warning',
        `Other ${f.name} modules exist (${others.join(', ')}); without modules.dep it is unknown which one modprobe loads.`,
        `${depmodCommand(k.installTree, k.kernel)}, then run dkms doctor again.`,
      ),
    ];
  }
  if (f.installedRelative && k.modulesDep.has(f.installedRelative)) {
    return [
      c.finding('modules-dep', 'ok', `Listed in modules.dep.`),
      c.finding(
        'shadowing',
        'ok',
        others.length
          ? `Takes precedence over ${others.join(', ')}.`
          : `No other ${f.name} module.`,
      ),
    ];
  }
  const winner = depByName(k.modulesDep).get(f.name);
  if (winner) {
    const dir = dirname(f.installedRelative ?? '');
    return [
      c.finding(
        'shadowing',
        'error',
        `modules.dep points modprobe at ${winner} instead of ${f.installedRelative}: another ${f.name} module shadows this one.`,
        `Remove ${winner}, or let dkms's copy win: echo 'override ${f.name} * ${dir}' > /etc/depmod.d/dkms-${f.name}.conf && ${depmodCommand(k.installTree, k.kernel)}`,
      ),
    ];
  }
  return [
    c.finding(
      'modules-dep',
      'error',
      `${f.installedRelative} is not listed in ${k.modulesDepPath}: modprobe cannot load it.`,
      depmodCommand(k.installTree, k.kernel),
    ),
  ];
}

export function initramfsFinding(
  k: KernelFacts,
  f: ModuleFileFacts,
  c: FileChecker,
): Finding | undefined {
  if (k.initramfs.status !== 'listed') return undefined;
  const update = initramfsUpdateCommand(k.kernel, k.initramfs.tool);
  const entries = entriesForModule(k.initramfs.entries, f.name);
  if (entries.length > 0) {
    const stale = entries.find(
      (e) =>
        suffixOf(e.path) === suffixOf(f.installed ?? '') &&
        e.size !== undefined &&
        f.installedSize !== undefined &&
        e.size !== f.installedSize,
    );
    if (stale)
      return c.finding(
        'initramfs',
        'error',
        `${k.initramfs.image} holds another ${f.name} (${stale.path}, ${stale.size} bytes, installed: ${f.installedSize}): the old module is used at boot.`,
        update,
      );
    return c.finding('initramfs', 'ok', `In ${k.initramfs.image}.`);
  }
  if (f.initramfsElsewhere.length > 0) {
    return c.finding(
      'initramfs',
      'error',
      `${f.name} is in the initramfs of ${f.initramfsElsewhere.join(', ')} but not in ${k.initramfs.image}: it will be missing at boot.`,
      update,
    );
  }
  return c.finding('initramfs', 'ok', `Not in the initramfs, and not expected there.`);
}
