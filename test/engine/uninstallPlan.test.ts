import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineStep } from '../../src/engine/steps/engineStep.js';
import {
  planRemoveVersion,
  planUnbuild,
  planUninstall,
  type UninstallFacts,
} from '../../src/engine/uninstallPlan.js';

const K = '6.1.0-50-amd64';
const ref = { module: 'shadow', version: '1.0', kernel: K, arch: 'x86_64' };
const LIB = `/lib/modules/${K}`;
const BACKUP = `/var/lib/dkms/shadow/original_module/${K}/x86_64`;

const facts = (over: Partial<UninstallFacts> = {}): UninstallFacts => ({
  ref,
  libTree: LIB,
  moduleDir: '/var/lib/dkms/shadow',
  kernelLink: `/var/lib/dkms/shadow/kernel-${K}-x86_64`,
  installed: true,
  hasExclusives: false,
  modules: [{ destName: 'dummy', installed: `${LIB}/updates/dkms/dummy.ko` }],
  confWarning: undefined,
  postRemove: '',
  originals: [],
  badOriginals: [],
  backupDir: undefined,
  owe: [],
  backupLeftovers: false,
  depmod: true,
  ...over,
});

const texts = (steps: EngineStep[]): string[] =>
  steps.flatMap((s) => (s.kind === 'say' ? [s.text] : []));

const original = (name: string, from: string) => ({
  saved: `${BACKUP}/${name}.ko`,
  original: `${LIB}/${from}/${name}.ko`,
  record: `${BACKUP}/${name}.ko.origin`,
});

describe('planUninstall', () => {
  it('says in one line that the version is not installed, and changes nothing', () => {
    const { steps, changed } = planUninstall(facts({ installed: false }));
    assert.equal(changed, false);
    assert.deepEqual(steps, [
      {
        kind: 'say',
        level: 'info',
        text: `Module shadow/1.0 is not installed for kernel ${K} (x86_64). Skipping...`,
      },
    ]);
  });

  it('says nothing about it when the conf has BUILD_EXCLUSIVE directives (dkms 3.4)', () => {
    assert.deepEqual(planUninstall(facts({ installed: false, hasExclusives: true })).steps, []);
  });

  it("speaks for an inactive version when called as dkms's do_uninstall", () => {
    const { steps, changed } = planUninstall(facts({ installed: false, postRemove: 'p.sh' }), {
      direct: true,
    });
    assert.equal(changed, false);
    assert.deepEqual(texts(steps), [
      `Module shadow/1.0 for kernel ${K} (x86_64):`,
      'This module version was INACTIVE for this kernel.',
    ]);
    assert.deepEqual(
      steps.filter((s) => s.kind !== 'say').map((s) => s.kind),
      ['script', 'depmod'],
    );
  });

  it('deletes each module and restores its originals, drops the link, post_remove, depmod', () => {
    const dummy = original('dummy', 'kernel/drivers/net');
    const { steps, changed } = planUninstall(
      facts({ originals: [dummy], backupDir: BACKUP, postRemove: 'post.sh' }),
    );
    assert.equal(changed, true);
    assert.deepEqual(
      steps.filter((s) => s.kind !== 'say'),
      [
        { kind: 'removeFile', path: `${LIB}/updates/dkms/dummy.ko`, pruneUpTo: LIB },
        { kind: 'restoreOriginal', ...dummy },
        { kind: 'removeLink', path: `/var/lib/dkms/shadow/kernel-${K}-x86_64` },
        { kind: 'script', ref, phase: 'post_remove', script: 'post.sh' },
        { kind: 'depmod', kernel: K, onFailure: 'warn' },
        { kind: 'removeTree', path: BACKUP, pruneUpTo: '/var/lib/dkms/shadow' },
      ],
    );
    // the backup emptied by the restore goes without a word, as dkms's
    assert.deepEqual(texts(steps), [
      `Module shadow/1.0 for kernel ${K} (x86_64):`,
      'Before uninstall, this module version was ACTIVE on this kernel.',
      `Deleting ${LIB}/updates/dkms/dummy.ko`,
      `Restoring archived original module ${LIB}/kernel/drivers/net/dummy.ko`,
    ]);
  });

  it('says the backup goes when it holds more than what was restored', () => {
    const { steps } = planUninstall(facts({ backupDir: BACKUP, backupLeftovers: true }));
    assert.equal(
      texts(steps).at(-1),
      `Removing original module(s) from DKMS tree for kernel ${K} (x86_64)`,
    );
    assert.equal(steps.at(-1)?.kind, 'removeTree');
  });

  it("interleaves each module's deletion with its own originals, as dkms", () => {
    const one = original('one', 'kernel/a');
    const two = original('two', 'kernel/b');
    const { steps } = planUninstall(
      facts({
        modules: [
          { destName: 'one', installed: `${LIB}/updates/dkms/one.ko` },
          { destName: 'two', installed: undefined },
        ],
        originals: [two, one],
      }),
    );
    assert.deepEqual(texts(steps).slice(2), [
      `Deleting ${LIB}/updates/dkms/one.ko`,
      `Restoring archived original module ${LIB}/kernel/a/one.ko`,
      `Module two.ko was not found within ${LIB}/`,
      `Restoring archived original module ${LIB}/kernel/b/two.ko`,
    ]);
  });

  it('leaves depmod owed to the caller (kernel_prerm): marked first, no depmod step', () => {
    const { steps } = planUninstall(facts({ depmod: false, owe: ['depmod', 'initramfs'] }));
    assert.deepEqual(steps.filter((s) => s.kind === 'owe').length, 1);
    assert.ok(!steps.some((s) => s.kind === 'depmod'));
  });

  it('names a module it cannot find and reports bad original records', () => {
    const { steps } = planUninstall(
      facts({
        modules: [{ destName: 'dummy', installed: undefined }],
        badOriginals: ["Bad original location '/etc/passwd' in x.origin"],
      }),
    );
    assert.ok(texts(steps).includes(`Module dummy.ko was not found within ${LIB}/`));
    assert.ok(steps.some((s) => s.kind === 'say' && s.level === 'warn'));
    assert.ok(!steps.some((s) => s.kind === 'removeFile' || s.kind === 'restoreOriginal'));
  });
});

describe('planUnbuild and planRemoveVersion', () => {
  const versionDir = '/var/lib/dkms/shadow/1.0';

  it('discards the build through a .tmp_ name, then the emptied kernel directory', () => {
    const steps = planUnbuild({ ref, versionDir, built: true, failedLog: undefined, tag: '7' });
    assert.deepEqual(steps, [
      {
        kind: 'discardDir',
        path: `${versionDir}/${K}/x86_64`,
        aside: `${versionDir}/${K}/.tmp_x86_64_removed_7`,
      },
      { kind: 'pruneKernelDir', path: `${versionDir}/${K}` },
    ]);
  });

  it('drops a kept failed log and skips what is not built', () => {
    const log = `${versionDir}/.failed-${K}-x86_64.make.log`;
    const steps = planUnbuild({ ref, versionDir, built: false, failedLog: log, tag: '7' });
    assert.deepEqual(steps[0], { kind: 'removeFile', path: log });
    assert.match(texts(steps)[0] ?? '', /is not built for kernel .*Skipping/);
  });

  it('ends remove with the version when unused', () => {
    assert.deepEqual(planRemoveVersion(ref, versionDir, '/var/lib/dkms/shadow'), [
      { kind: 'removeVersionIfUnused', ref, versionDir, moduleDir: '/var/lib/dkms/shadow' },
    ]);
  });
});

describe('planUninstall and the finish ledger', () => {
  it('marks what the uninstall owes the kernel before it deletes anything', () => {
    const { steps } = planUninstall(facts({ owe: ['depmod', 'initramfs'] }));
    const owe = steps.findIndex((step) => step.kind === 'owe');
    assert.ok(owe >= 0 && owe < steps.findIndex((step) => step.kind === 'removeFile'));
    assert.equal(
      planUninstall(facts({ installed: false, owe: ['depmod'] })).steps.some(
        (step) => step.kind === 'owe',
      ),
      false,
    );
  });
});
