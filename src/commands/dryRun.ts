import type { DkmsContext } from '../core/context.js';
import { isDkmsError } from '../core/errors.js';
import type { BuildRef, ModuleVersionRef } from '../core/stateTree.js';
import { gatherCandidates } from '../engine/autoinstall.js';
import { planAutoinstall } from '../engine/autoinstallPlan.js';
import { previewInstall, type InstallOptions } from '../engine/install.js';
import { pendingRecovery } from '../engine/recovery.js';
import { describeStep, type EngineStep } from '../engine/steps/engineStep.js';

/*
 * --dry-run: the plans install, uninstall, unbuild, remove and autoinstall would run,
 * printed one step a line; nothing is locked, recovered or changed.
 */

const indent = (line: string): string => `  ${line}`;

/** The steps that change something (lines for the user are left out). */
export const stepLines = (steps: readonly EngineStep[]): string[] =>
  steps.filter((step) => step.kind !== 'say').map((step) => indent(describeStep(step)));

/** What the next real command would first finish or delete. */
export function recoveryLines(ctx: DkmsContext, module: string): string[] {
  const { journal, litter } = pendingRecovery(ctx, module);
  const lines: string[] = [];
  if (journal === 'unreadable') lines.push(indent(`remove the unreadable journal of ${module}`));
  else if (journal)
    lines.push(
      indent(
        `${journal.mode === 'undo' ? 'roll back' : 'complete'} the interrupted ${journal.title}:`,
      ),
      ...stepLines(journal.remaining).map(indent),
    );
  lines.push(...litter.map((path) => indent(`rm -rf ${path} (left by an interrupted command)`)));
  return lines;
}

const where = (ref: BuildRef): string =>
  `${ref.module}/${ref.version} for ${ref.kernel} (${ref.arch})`;

/** The dry-run lines of dkms install for one kernel. */
export async function installPreviewLines(
  ctx: DkmsContext,
  ref: BuildRef,
  options: InstallOptions,
): Promise<string[]> {
  const header = `install of ${where(ref)}:`;
  try {
    if (!ctx.tree.isAdded(ref))
      return [header, indent(`add ${ref.module}/${ref.version}, build, then install`)];
    const preview = await previewInstall(ctx, ref, options);
    if (preview.status === 'already-installed') return [header, indent(preview.message)];
    return [
      header,
      ...stepLines(preview.uninstall),
      ...(preview.build ? [indent(`build ${where(ref)}`)] : []),
      ...stepLines(preview.steps),
    ];
  } catch (error) {
    if (!isDkmsError(error)) throw error;
    return [header, indent(`error: ${error.message.replace(/\n/g, ' ')}`)];
  }
}

/** The dry-run lines of uninstall/unbuild/remove for one module version. */
export function removalPreviewLines(
  mode: string,
  ref: ModuleVersionRef,
  steps: readonly EngineStep[],
): string[] {
  return [`${mode} of ${ref.module}/${ref.version}:`, ...stepLines(steps)];
}

/** The dry-run lines of dkms autoinstall for one kernel: each job's install plan, in order. */
export async function autoinstallPreviewLines(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<string[]> {
  const { candidates, broken } = await gatherCandidates(ctx, kernel, arch);
  const plan = planAutoinstall(candidates);
  const lines = [`autoinstall for ${kernel} (${arch}):`];
  for (const ref of broken) lines.push(indent(`skip ${ref.module}/${ref.version}: broken`));
  for (const job of plan.jobs) {
    lines.push(...recoveryLines(ctx, job.module));
    const preview = await installPreviewLines(ctx, { ...job, kernel, arch }, { depmod: false });
    lines.push(...preview.map(indent));
  }
  for (const skipped of plan.skipped)
    lines.push(indent(`skip ${skipped.module}/${skipped.version}: ${skipped.reason}`));
  for (const invalid of plan.invalid)
    lines.push(indent(`error ${invalid.module}/${invalid.version}: ${invalid.reason}`));
  for (const waiting of plan.unsatisfied)
    lines.push(
      indent(`skip ${waiting.module}/${waiting.version}: missing ${waiting.missing.join(' ')}`),
    );
  for (const waiting of plan.deferred)
    lines.push(
      indent(
        `defer ${waiting.module}/${waiting.version}: ${waiting.missing.join(' ')} not registered with DKMS`,
      ),
    );
  if (plan.jobs.length > 0 && ctx.depmod) lines.push(indent(`depmod ${kernel}`));
  if (lines.length === 1) lines.push(indent('nothing to do'));
  return lines;
}
