import { isDkmsError } from '../../core/errors.js';
import { MemoryReporter } from '../../core/host.js';
import type { DkmsContext } from '../../core/context.js';
import { unbuildForKernel } from '../../engine/kernelRemoval.js';
import type { RemovalOutcome } from '../../protocol/messages.js';

/** What `dkms kernel_prerm` does for one kernel, with the output captured. Never throws. */
export async function removeKernelModules(
  ctx: DkmsContext,
  kernel: string,
  arch: string,
): Promise<{ outcome: RemovalOutcome; output: string }> {
  const reporter = new MemoryReporter();
  try {
    const removed = await unbuildForKernel(
      { ...ctx, reporter },
      kernel,
      arch,
      false,
      'kernel_prerm',
    );
    return { outcome: { kernel, arch, result: 'ok', removed }, output: reporter.text() };
  } catch (error) {
    const message = isDkmsError(error) ? error.message : String(error);
    return {
      outcome: { kernel, arch, result: 'failed', removed: [], message },
      output: reporter.text(),
    };
  }
}
