import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ARCH, K47 } from '../helpers/roots.js';
import { SandboxPair, describeOutputs, expectSame, noDifferences } from './pair.js';
import { compatSetup, corpusSource, systemState } from './setup.js';
import { inKernelModule } from './sources.js';
import type { Upstream } from './upstream.js';

const { skip, upstream } = await compatSetup(['vpoll-dkms', 'acpi-call-dkms']);

const installTreeDifferences = async (pair: SandboxPair): Promise<string[]> =>
  (await pair.differences([])).filter((line) => line.startsWith('install tree'));

describe("differential edge cases: ours and Debian sid's dkms", { skip }, () => {
  const systemBefore = skip ? [] : systemState();
  const pairs: SandboxPair[] = [];
  after(() => pairs.forEach((pair) => pair.cleanup()));

  /** Fresh sandboxes with a corpus package added on both sides; resolves with `module/version`. */
  const added = async (deb: string, module: string): Promise<{ pair: SandboxPair; mv: string }> => {
    const source = corpusSource(upstream as Upstream, deb, module);
    const pair = new SandboxPair(upstream as Upstream);
    pairs.push(pair);
    pair.addSource(source.dir, module, source.version);
    const mv = `${module}/${source.version}`;
    expectSame('add', await pair.run(['add', mv]), 0);
    return { pair, mv };
  };

  // Version sanity check: upstream never replaces a same-named module that is newer or the same
  // version; only the files are compared here.
  it('leaves a newer in-kernel module of the same name in place and installs nothing', async () => {
    const { pair, mv } = await added('vpoll-dkms', 'vpoll');
    for (const roots of pair.both())
      await inKernelModule(join(roots.lib, K47, 'kernel/drivers/misc/vpoll.ko'), '1.0');
    const install = await pair.run(['install', mv, '-k', K47]);
    assert.match(
      install.upstream.stderr,
      /is not newer than what is already found/,
      describeOutputs('install', install),
    );
    noDifferences(await installTreeDifferences(pair));
  });

  // An unversioned in-kernel module against an unversioned build: dkms 3.4 compares the bytes
  // and installs when they differ, archiving the in-kernel module.
  it('replaces a different unversioned in-kernel module as dkms 3.4 does', async () => {
    const { pair, mv } = await added('acpi-call-dkms', 'acpi-call');
    for (const roots of pair.both())
      await inKernelModule(join(roots.lib, K47, 'kernel/drivers/acpi/acpi_call.ko'));
    const install = await pair.run(['install', mv, '-k', K47]);
    expectSame('install', install, 0);
    const ours = pair.both()[1];
    assert.ok(ours && existsSync(join(ours.lib, K47, 'updates/dkms/acpi_call.ko')));
    noDifferences(await installTreeDifferences(pair));
  });

  // dkms 3.4 calls any build with a module/ directory built and annotates what is missing.
  it('reports a build that lacks one of its modules as 3.4 does', async () => {
    const { pair, mv } = await added('vpoll-dkms', 'vpoll');
    expectSame('build', await pair.run(['build', mv, '-k', K47]), 0);
    for (const roots of pair.both()) rmSync(join(roots.tree, mv, K47, ARCH, 'module/vpoll.ko'));
    const status = await pair.status();
    assert.equal(
      status.ours.stdout,
      `${mv}, ${K47}, ${ARCH}: built (Built modules are missing in the kernel modules folder)\n`,
    );
    assert.equal(status.ours.stdout, status.upstream.stdout);
  });

  it('left /etc/dkms, /var/lib/dkms and the real module tree as they were', () => {
    assert.deepEqual(systemState(), systemBefore);
  });
});
