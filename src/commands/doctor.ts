import { doctorExitCode } from '../doctor/findings.js';
import { runDoctor } from '../doctor/doctor.js';
import { applyRepairs, planRepairs } from '../doctor/repair.js';
import { doctorDocument, formatFindings, formatRepairs } from '../doctor/report.js';
import { requireRootForSystemTree } from './common.js';
import type { Command } from './types.js';

/**
 * dkms doctor [-m module] [-k kver]... [--json] [--verbose] [--fix]: exit 1 when something
 * is wrong. --fix repairs what it can, then reports the checks as they are afterwards.
 */
export const doctor: Command = async (ctx, args) => {
  const kernels = args.kernels.length > 0 ? args.kernels : undefined;
  const options = { kernels, modules: args.module ? [args.module] : undefined };
  let findings = await runDoctor(ctx, options);
  let repairs: Awaited<ReturnType<typeof applyRepairs>> | undefined;
  if (args.fix) {
    requireRootForSystemTree(ctx);
    repairs = await applyRepairs(ctx, planRepairs(findings));
    if (repairs.length > 0) findings = await runDoctor(ctx, options);
  }
  const checked = kernels ?? [...new Set(findings.flatMap((f) => (f.kernel ? [f.kernel] : [])))];
  const output = args.json
    ? [JSON.stringify(doctorDocument(findings, checked, repairs), null, 2)]
    : [...formatRepairs(repairs), ...formatFindings(findings, { verbose: args.verbose })];
  return { exitCode: doctorExitCode(findings), output };
};
