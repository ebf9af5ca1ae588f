import { doctorExitCode } from '../doctor/findings.js';
import { runDoctor } from '../doctor/doctor.js';
import { doctorDocument, formatFindings } from '../doctor/report.js';
import type { Command } from './types.js';

/** dkms doctor [-m module] [-k kver]... [--json] [--verbose]: exit 1 when something is wrong. */
export const doctor: Command = async (ctx, args) => {
  const kernels = args.kernels.length > 0 ? args.kernels : undefined;
  const findings = await runDoctor(ctx, {
    kernels,
    modules: args.module ? [args.module] : undefined,
  });
  const checked = kernels ?? [...new Set(findings.flatMap((f) => (f.kernel ? [f.kernel] : [])))];
  const output = args.json
    ? [JSON.stringify(doctorDocument(findings, checked), null, 2)]
    : formatFindings(findings, { verbose: args.verbose });
  return { exitCode: doctorExitCode(findings), output };
};
