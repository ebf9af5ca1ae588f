import { existsSync, rmSync } from 'node:fs';
import { loadConfs } from '../conf/loadConf.js';
import { defaultArch, type DkmsContext } from '../core/context.js';
import { installedKernels } from '../kernel/kernels.js';
import { systemSecureBootProbe, type SecureBootProbe } from '../sign/secureBoot.js';
import { byteOrder, type BuildRef } from '../core/stateTree.js';
import type { InitramfsFacts, KernelFacts, ModuleFacts, SecureBootFacts } from './facts.js';
import type { Finding } from './findings.js';
import { gatherInitramfs, gatherKernelFacts, gatherModuleFiles, makeScratch } from './gather.js';
import { entriesForModule, systemInitramfsLister, type InitramfsLister } from './initramfs.js';
import { kernelFindings, secureBootFindings } from './kernelChecks.js';
import { gatherKernelLitter, gatherModuleInterruption } from './gatherInterruptions.js';
import { interruptionFindings, kernelLitterFindings } from './interruptionChecks.js';
import { moduleFindings } from './moduleChecks.js';
import { readinessFindings } from './readinessChecks.js';
import { signerFindings } from './signerChecks.js';
import { bwrapAvailability, decideSandbox, exemptModules } from '../engine/buildSandbox.js';
import { sandboxFindings } from './sandboxChecks.js';

/** What doctor asks the system that tests replace. */
export interface DoctorProbes {
  secureBoot: SecureBootProbe;
  initramfs: InitramfsLister;
}

export interface DoctorOptions {
  /** Kernels to check. @default every kernel in the install tree or with a dkms install */
  kernels?: readonly string[] | undefined;
  /** Only these modules. @default all */
  modules?: readonly string[] | undefined;
  probes?: Partial<DoctorProbes> | undefined;
}

/** Installed builds (kernel-<kver>-<arch> links) for the kernels and modules asked about. */
function installedBuilds(
  ctx: DkmsContext,
  kernels: ReadonlySet<string> | undefined,
  modules: readonly string[] | undefined,
): BuildRef[] {
  const builds: BuildRef[] = [];
  for (const module of modules ?? ctx.tree.modules()) {
    for (const link of ctx.tree.installLinks(module)) {
      if (!kernels || kernels.has(link.kernel)) builds.push({ module, ...link });
    }
  }
  return builds;
}

async function secureBootFacts(
  probe: SecureBootProbe,
  kernels: readonly KernelFacts[],
): Promise<SecureBootFacts> {
  const state = await probe.state();
  const certificates = new Set(
    kernels.flatMap((k) =>
      k.wantsSignatures && k.signing.sign && !k.signing.generate ? [k.signing.mok.certificate] : [],
    ),
  );
  const enrollment =
    state === 'enabled'
      ? await Promise.all(
          [...certificates].map(async (certificate) => ({
            certificate,
            state: await probe.enrollment(certificate),
          })),
        )
      : [];
  const enrolledKeys =
    state === 'enabled' || state === 'disabled' ? await probe.enrolledKeys?.() : undefined;
  return { state, enrollment, enrolledKeys };
}

/**
 * `dkms doctor`: checks every kernel and every module installed for it, and returns one
 * finding per check (ok ones included), each non-ok finding naming its fix. Read-only
 * (`dkms doctor --fix` applies `planRepairs(findings)` from repair.ts).
 * The daemon calls it after finishing a kernel: `runDoctor(ctx, { kernels: [kver] })`.
 */
export async function runDoctor(ctx: DkmsContext, options: DoctorOptions = {}): Promise<Finding[]> {
  const probes: DoctorProbes = {
    secureBoot: options.probes?.secureBoot ?? systemSecureBootProbe(),
    initramfs: options.probes?.initramfs ?? systemInitramfsLister(),
  };
  const allBuilds = installedBuilds(ctx, undefined, options.modules);
  const kernels = options.kernels
    ? [...new Set(options.kernels)]
    : [
        ...new Set([...installedKernels(ctx.paths.installTree), ...allBuilds.map((b) => b.kernel)]),
      ].sort(byteOrder);
  const builds = allBuilds.filter((b) => kernels.includes(b.kernel));
  const initramfsCache = new Map<string, Promise<InitramfsFacts>>();
  const initramfsOf = (kernel: string): Promise<InitramfsFacts> => {
    let cached = initramfsCache.get(kernel);
    if (!cached)
      initramfsCache.set(kernel, (cached = gatherInitramfs(ctx, probes.initramfs, kernel)));
    return cached;
  };
  const kernelFacts = await Promise.all(
    kernels.map((kernel) =>
      gatherKernelFacts(ctx, kernel, initramfsOf, builds.filter((b) => b.kernel === kernel).length),
    ),
  );
  const secureBoot = await secureBootFacts(probes.secureBoot, kernelFacts);
  const findings: Finding[] = [
    ...secureBootFindings(secureBoot),
    ...sandboxFindings({
      decision: decideSandbox({
        framework: ctx.framework,
        module: '',
        bwrap: await bwrapAvailability(ctx),
      }),
      exempt: exemptModules(ctx.framework),
    }),
  ];
  for (const module of (options.modules ?? ctx.tree.modules()).filter((m) =>
    existsSync(ctx.tree.moduleDir(m)),
  ))
    findings.push(...interruptionFindings(gatherModuleInterruption(ctx, module)));
  const healthy = builds.filter((b) => !ctx.tree.isBroken(b));
  const confs = await loadConfs(ctx, healthy);
  const scratch = makeScratch(ctx);
  try {
    for (const k of kernelFacts) {
      findings.push(...kernelFindings(k), ...readinessFindings(k));
      findings.push(...kernelLitterFindings(gatherKernelLitter(ctx, k.kernel)));
      for (const build of builds.filter((b) => b.kernel === k.kernel)) {
        const facts: ModuleFacts = {
          ...build,
          broken: ctx.tree.isBroken(build),
          confError: undefined,
          files: [],
        };
        const outcome = facts.broken ? undefined : confs[healthy.indexOf(build)];
        if (outcome && !outcome.ok) facts.confError = outcome.error.message.replace(/\n/g, ' ');
        if (outcome?.ok) {
          facts.files = await gatherModuleFiles(ctx, k, build, outcome.conf, scratch);
          for (const file of facts.files) {
            const elsewhere = allBuilds.filter(
              (b) => b.module === build.module && b.kernel !== k.kernel,
            );
            for (const other of elsewhere) {
              const listing = await initramfsOf(other.kernel);
              if (
                listing.status === 'listed' &&
                entriesForModule(listing.entries, file.name).length > 0
              )
                file.initramfsElsewhere.push(other.kernel);
            }
          }
        }
        findings.push(...moduleFindings(k, facts, defaultArch()));
        findings.push(...signerFindings(secureBoot, k, facts, defaultArch()));
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return findings;
}
