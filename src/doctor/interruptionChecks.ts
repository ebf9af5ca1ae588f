import type { Finding } from './findings.js';

/** What an interrupted command left of one module (gathered by gatherInterruptions.ts). */
export interface ModuleInterruption {
  module: string;
  journal:
    | {
        path: string;
        /** undefined when the journal cannot be read. */
        title: string | undefined;
        mode: 'do' | 'undo' | undefined;
        /** The remaining steps, described. */
        remaining: string[];
        /** The command that wrote it is still running (a journal is normal then). */
        running: boolean;
      }
    | undefined;
  /** Staging dirs and temporary files nobody alive owns. */
  litter: string[];
}

/** Temporary copies a killed install left in one kernel's module tree. */
export interface KernelLitter {
  kernel: string;
  files: string[];
}

const FIX = 'dkms doctor --fix';

/** One finding for the module's journal and one for its leftovers. */
export function interruptionFindings(facts: ModuleInterruption): Finding[] {
  const base = { module: facts.module };
  const findings: Finding[] = [];
  const { journal } = facts;
  if (!journal) {
    findings.push({
      ...base,
      check: 'interrupted',
      severity: 'ok',
      message: 'No interrupted command.',
    });
  } else if (journal.title === undefined) {
    findings.push({
      ...base,
      check: 'interrupted',
      severity: 'error',
      file: journal.path,
      message: `The journal ${journal.path} cannot be read: what an interrupted command left is unknown.`,
      fix: `${FIX} (removes it), then dkms status ${facts.module} and dkms doctor`,
    });
  } else if (journal.running) {
    findings.push({
      ...base,
      check: 'interrupted',
      severity: 'info',
      file: journal.path,
      message: `A dkms command is running: ${journal.title}.`,
    });
  } else {
    const steps = journal.remaining.length;
    findings.push({
      ...base,
      check: 'interrupted',
      severity: 'error',
      file: journal.path,
      message: `The ${journal.title} was interrupted${journal.mode === 'undo' ? ' while rolling back' : ''}: ${steps} step${steps === 1 ? '' : 's'} remain (${journal.remaining.join('; ')}); until they run, the trees do not match what dkms status says.`,
      fix: `${FIX} (or any dkms command on ${facts.module} finishes it)`,
    });
  }
  findings.push(
    facts.litter.length === 0
      ? { ...base, check: 'litter', severity: 'ok', message: 'No leftovers in the dkms tree.' }
      : {
          ...base,
          check: 'litter',
          severity: 'warning',
          message: `Leftovers of interrupted commands: ${facts.litter.join(', ')}.`,
          fix: FIX,
        },
  );
  return findings;
}

/** One finding per temporary file in a kernel's tree, or one ok. */
export function kernelLitterFindings(facts: KernelLitter): Finding[] {
  if (facts.files.length === 0)
    return [
      {
        check: 'litter',
        severity: 'ok',
        kernel: facts.kernel,
        message: 'No temporary module copies in the install tree.',
      },
    ];
  return facts.files.map((file) => ({
    check: 'litter',
    severity: 'warning',
    kernel: facts.kernel,
    file,
    message: `${file} is a partial copy an interrupted install left behind.`,
    fix: `${FIX} (or rm -f ${file})`,
  }));
}
