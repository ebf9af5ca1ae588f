import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { DkmsContext } from '../core/context.js';
import { runTool } from '../core/exec.js';

/**
 * One thing a packaging action does to the disk. Planners return lists of these without
 * touching anything; `runSteps` is the only code that carries them out.
 */
export type PackagingStep =
  | { kind: 'mkdir'; path: string }
  /** rm -rf */
  | { kind: 'remove'; path: string }
  /**
   * Copies the contents of `from` (a symlink to it is followed) into `to`; inner links stay
   * links. `skipHidden` leaves out top-level dot files, as upstream's `cp -r src/*` does.
   */
  | { kind: 'copyTree'; from: string; to: string; skipHidden?: boolean }
  | { kind: 'copyFile'; from: string; to: string; mode?: number }
  | { kind: 'writeFile'; path: string; content: string; mode?: number }
  /** Writes `md5sum`-style lines for every regular file under `root`, except `skip`. */
  | { kind: 'md5sums'; root: string; skip: string; path: string }
  | { kind: 'run'; file: string; args: string[]; cwd: string; what: string; hint?: string }
  /** Moves a finished file into place, replacing what was there. */
  | { kind: 'rename'; from: string; to: string };

/** Directories packaging tools read have to be world-readable, whatever the umask says. */
const DIR_MODE = 0o755;

function makeDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: DIR_MODE });
  chmodSync(path, DIR_MODE);
}

function regularFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...regularFiles(root, path));
    else if (entry.isFile()) files.push(relative(root, path));
  }
  return files.sort();
}

function md5sums(root: string, skip: string): string {
  return regularFiles(root)
    .filter((file) => file !== skip && !file.startsWith(`${skip}/`))
    .map((file) => {
      const sum = createHash('md5')
        .update(readFileSync(join(root, file)))
        .digest('hex');
      return `${sum}  ${file}\n`;
    })
    .join('');
}

/** rename(2), or copy next to the target and rename there when staging is on another filesystem. */
function moveInto(from: string, to: string): void {
  makeDir(dirname(to));
  try {
    renameSync(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  const temp = join(dirname(to), `.${process.pid}.${Date.now()}.tmp`);
  try {
    copyFileSync(from, temp);
    renameSync(temp, to);
  } finally {
    rmSync(temp, { force: true });
  }
  rmSync(from, { force: true });
}

/** Describes a step for --verbose output. */
export function describeStep(step: PackagingStep): string {
  switch (step.kind) {
    case 'mkdir':
      return `mkdir -p ${step.path}`;
    case 'remove':
      return `rm -rf ${step.path}`;
    case 'copyTree':
      return `cp -r ${step.from}/. ${step.to}`;
    case 'copyFile':
      return `cp ${step.from} ${step.to}`;
    case 'writeFile':
      return `write ${step.path}`;
    case 'md5sums':
      return `md5sums of ${step.root} > ${step.path}`;
    case 'run':
      return [step.file, ...step.args].join(' ');
    case 'rename':
      return `mv ${step.from} ${step.to}`;
  }
}

/** Carries out a plan in order; the first failing step stops it with a DkmsError. */
export async function runSteps(ctx: DkmsContext, steps: readonly PackagingStep[]): Promise<void> {
  for (const step of steps) {
    ctx.reporter.verbose(describeStep(step));
    try {
      await runStep(step);
    } catch (error) {
      if (error instanceof DkmsError) throw error;
      throw new DkmsError(
        'TARBALL',
        `${describeStep(step)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}

async function runStep(step: PackagingStep): Promise<void> {
  switch (step.kind) {
    case 'mkdir':
      makeDir(step.path);
      break;
    case 'remove':
      rmSync(step.path, { recursive: true, force: true });
      break;
    case 'copyTree': {
      makeDir(step.to);
      const from = realpathSync(step.from);
      for (const name of readdirSync(from)) {
        if (step.skipHidden && name.startsWith('.')) continue;
        cpSync(join(from, name), join(step.to, name), {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
      }
      break;
    }
    case 'copyFile':
      makeDir(dirname(step.to));
      copyFileSync(step.from, step.to);
      if (step.mode !== undefined) chmodSync(step.to, step.mode);
      break;
    case 'writeFile':
      makeDir(dirname(step.path));
      writeFileSync(step.path, step.content);
      chmodSync(step.path, step.mode ?? 0o644);
      break;
    case 'md5sums':
      writeFileSync(step.path, md5sums(step.root, step.skip));
      chmodSync(step.path, 0o644);
      break;
    case 'run': {
      const result = await runTool(step.file, step.args, { cwd: step.cwd });
      if (result.exitCode !== 0) {
        const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-15).join('\n');
        throw new DkmsError(
          'TARBALL',
          `${step.what} failed: ${describeStep(step)} exited with status ${result.exitCode}.${tail ? `\n${tail}` : ''}`,
          { hint: step.hint },
        );
      }
      break;
    }
    case 'rename':
      moveInto(step.from, step.to);
      break;
  }
}
