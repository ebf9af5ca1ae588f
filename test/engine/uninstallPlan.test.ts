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
  modules: [{ destName: 'dummy', installed: `${LIB}/updates/dkms/dummy.ko` }],
  confWarning: undefined,
  postRemove: '',
  originals: [],
  badOriginals: [],
  backupDir: undefined,
  owe: [],
  ...over,
});

const texts = (steps: EngineStep[]): string[] =>
  steps.flatMap((s) => (s.kind === 'say' ? [s.text] : []));

describe('planUninstall', () => {
  it('says INACTIVE and changes nothing when this version is not installed', () => {
    const { steps, changed } = planUninstall(facts({ installed: false }));
    assert.equal(changed, false);
    assert.deepEqual(texts(steps), [
      `Module shadow/1.0 for kernel ${K} (x86_64):`,
      'This module version was INACTIVE for this kernel.',
    ]);
    assert.equal(steps.length, 2);
  });

  it('deletes the modules, restores originals, drops the link, then the backup', () => {
    const original = {
      saved: `${BACKUP}/dummy.ko`,
      original: `${LIB}/kernel/drivers/net/dummy.ko`,
      record: `${BACKUP}/dummy.ko.origin`,
    };
    const { steps, changed } = planUninstall(
      facts({ originals: [original], backupDir: BACKUP, postRemove: 'post.sh' }),
    );
    assert.equal(changed, true);
    assert.deepEqual(
      steps.filter((s) => s.kind !== 'say'),
      [
        { kind: 'removeFile', path: `${LIB}/updates/dkms/dummy.ko`, pruneUpTo: LIB },
        { kind: 'restoreOriginal', ...original },
        { kind: 'removeLink', path: `/var/lib/dkms/shadow/kernel-${K}-x86_64` },
        { kind: 'script', ref, phase: 'post_remove', script: 'post.sh' },
        { kind: 'removeTree', path: BACKUP, pruneUpTo: '/var/lib/dkms/shadow' },
      ],
    );
    assert.deepEqual(texts(steps), [
      `Module shadow/1.0 for kernel ${K} (x86_64):`,
      'Before uninstall, this module version was ACTIVE on this kernel.',
      `Deleting ${LIB}/updates/dkms/dummy.ko`,
      `Restoring archived original module ${LIB}/kernel/drivers/net/dummy.ko`,
      `Removing original module(s) from DKMS tree for kernel ${K} (x86_64)`,
    ]);
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
