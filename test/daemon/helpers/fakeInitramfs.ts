import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Roots } from '../../helpers/roots.js';

export interface FakeInitramfs {
  /** The command for dkmsd.conf's initramfs_command (the kernel release is appended). */
  script: string;
  /** `start <kver>` when a run starts, `done <kver>: <module files>` when it ends. */
  calls: string;
  /** Exists once a run started. */
  started: string;
  /** Runs wait until this file exists. */
  release: string;
}

/**
 * An initramfs command that records when it starts and, once `<root>/initramfs.release`
 * exists, which module files the kernel had when it finished.
 */
export function fakeInitramfs(roots: Roots): FakeInitramfs {
  const script = join(roots.root, 'initramfs.sh');
  const calls = join(roots.root, 'initramfs.calls');
  const started = join(roots.root, 'initramfs.started');
  const release = join(roots.root, 'initramfs.release');
  writeFileSync(
    script,
    `#!/bin/sh
echo "start $1" >>'${calls}'
: >'${started}'
while [ ! -e '${release}' ]; do sleep 0.05; done
echo "done $1: $(cd '${roots.lib}/'"$1" && find . -name '*.ko*' | sort | tr '\\n' ' ')" >>'${calls}'
`,
    { mode: 0o755 },
  );
  return { script, calls, started, release };
}
