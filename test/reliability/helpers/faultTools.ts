import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A directory to put first on PATH with a `depmod` that says when it starts (creates
 * `<dir>/depmod.started`) and then waits for `<dir>/depmod.release` before running the real
 * one (`hang`), or fails (`fail`). Fault injection only: everything else is the real tool.
 */
export function faultyDepmod(
  root: string,
  mode: 'hang' | 'fail',
): { dir: string; started: string; release: string } {
  const dir = join(root, `fault-depmod-${mode}`);
  mkdirSync(dir, { recursive: true });
  const started = join(dir, 'depmod.started');
  const body =
    mode === 'fail'
      ? `echo "depmod: FATAL: injected failure" >&2\nexit 1\n`
      : `while [ ! -e '${dir}/depmod.release' ]; do sleep 0.05; done\nexec /sbin/depmod "$@"\n`;
  writeFileSync(join(dir, 'depmod'), `#!/bin/sh\n: >'${started}'\n${body}`, { mode: 0o755 });
  return { dir, started, release: join(dir, 'depmod.release') };
}

/** Polls until `path` exists; rejects after `timeoutMs` (a hang guard, never an assertion). */
export async function untilExists(path: string, timeoutMs = 300_000): Promise<void> {
  for (let waited = 0; !existsSync(path); waited += 50) {
    if (waited > timeoutMs) throw new Error(`${path} did not appear`);
    await sleep(50);
  }
}

/** Starts a program in its own process group, so that one signal reaches all it started. */
export function spawnGroup(file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(file, args, {
    env: { ...process.env, ...env },
    detached: true,
    stdio: 'ignore',
  });
}

/** SIGKILL to a whole process group, then waits for its leader to be gone. */
export async function killGroup(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once('exit', resolve);
  });
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await exited;
}

/** Every live descendant of `pid` (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/**
 * What a power cut or `systemctl kill -s KILL` (the whole cgroup) does to a process: SIGKILL
 * to it and everything it started, whatever process group they are in. Stopped first, so no
 * one can start a new child in between.
 */
export function killTree(pid: number): void {
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const target of [pid, ...descendants(pid)]) {
      try {
        process.kill(target, signal);
      } catch {
        // already gone
      }
    }
  };
  signalAll('SIGSTOP');
  signalAll('SIGKILL');
}
