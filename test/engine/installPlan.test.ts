import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import {
  DEPMOD_ROLLBACK_MESSAGE,
  planInstall,
  type InstallFacts,
  type InstallModuleFacts,
} from '../../src/engine/installPlan.js';
import type { EngineStep } from '../../src/engine/steps/engineStep.js';

const K = '6.1.0-50-amd64';
const ref = { module: 'hello', version: '1.0', kernel: K, arch: 'x86_64' };
const LIB = `/lib/modules/${K}`;
const BUILT = `/var/lib/dkms/hello/1.0/${K}/x86_64/module`;

const module = (over: Partial<InstallModuleFacts> = {}): InstallModuleFacts => ({
  destName: 'hello',
  built: `${BUILT}/hello.ko`,
  destDir: `${LIB}/updates/dkms`,
  backedUp: false,
  litter: [],
  ...over,
});

const facts = (over: Partial<InstallFacts> = {}): InstallFacts => ({
  ref,
  libTree: LIB,
  moduleDir: '/var/lib/dkms/hello',
  kernelLink: `/var/lib/dkms/hello/kernel-${K}-x86_64`,
  linkTarget: undefined,
  backupDir: `/var/lib/dkms/hello/original_module/${K}/x86_64`,
  modules: [module()],
  preInstall: '',
  postInstall: '',
  symlink: false,
  force: false,
  depmod: true,
  tag: '4242',
  owe: [],
  ...over,
});

const kinds = (steps: EngineStep[]): string[] =>
  steps.map((s) => (s.kind === 'say' ? `say:${s.text.split(' ')[0]}` : s.kind));

describe('planInstall', () => {
  it('copies under a temporary name in the destination, links, then depmod', () => {
    const steps = planInstall(facts());
    assert.deepEqual(kinds(steps), ['say:Installing', 'placeModule', 'writeLink', 'depmod']);
    assert.deepEqual(steps[1], {
      kind: 'placeModule',
      from: `${BUILT}/hello.ko`,
      to: `${LIB}/updates/dkms/hello.ko`,
      temp: `${LIB}/updates/dkms/.hello.ko.dkms-4242.tmp`,
      symlink: false,
      libTree: LIB,
    });
    assert.deepEqual(steps[2], {
      kind: 'writeLink',
      path: `/var/lib/dkms/hello/kernel-${K}-x86_64`,
      target: `1.0/${K}/x86_64`,
      temp: `/var/lib/dkms/hello/.kernel-${K}-x86_64.dkms-4242.tmp`,
    });
    assert.deepEqual(steps[3], {
      kind: 'depmod',
      kernel: K,
      onFailure: 'undo',
      failureMessage: DEPMOD_ROLLBACK_MESSAGE,
    });
    assert.equal((steps[0] as { text: string }).text, `Installing ${LIB}/updates/dkms/hello.ko`);
  });

  it('leaves depmod to the caller when asked (dkmsd runs it once per kernel)', () => {
    assert.ok(!planInstall(facts({ depmod: false })).some((s) => s.kind === 'depmod'));
  });

  it('moves a same-named original aside, its record next to it, before copying', () => {
    const original = `${LIB}/kernel/drivers/net/dummy.ko`;
    const steps = planInstall(facts({ modules: [module({ original })] }));
    assert.deepEqual(kinds(steps).slice(0, 4), [
      'say:Found',
      'backupOriginal',
      'say:Installing',
      'placeModule',
    ]);
    assert.deepEqual(steps[1], {
      kind: 'backupOriginal',
      original,
      saved: `/var/lib/dkms/hello/original_module/${K}/x86_64/dummy.ko`,
      record: `/var/lib/dkms/hello/original_module/${K}/x86_64/dummy.ko.origin`,
    });
  });

  it('keeps an original stored by an earlier install and remembers the old link', () => {
    const steps = planInstall(
      facts({
        linkTarget: `0.9/${K}/x86_64`,
        modules: [module({ original: `${LIB}/updates/dkms/hello.ko`, backedUp: true })],
      }),
    );
    assert.ok(!steps.some((s) => s.kind === 'backupOriginal'));
    assert.ok(
      steps.some((s) => s.kind === 'say' && /original module was already stored/.test(s.text)),
    );
    const link = steps.find((s) => s.kind === 'writeLink');
    assert.equal(link?.kind === 'writeLink' && link.previous, `0.9/${K}/x86_64`);
  });

  it('reports refused modules and aborts when every module is refused', () => {
    const refused = planInstall(facts({ modules: [module({ conflict: 'not newer' })] }));
    assert.deepEqual(refused, [
      { kind: 'say', level: 'error', text: 'not newer' },
      { kind: 'fail', code: 'INSTALL_FAILED', message: 'Installation aborted.' },
    ]);
    const one = planInstall(
      facts({
        modules: [
          module({ conflict: 'not newer' }),
          module({ destName: 'other', built: `${BUILT}/other.ko` }),
        ],
      }),
    );
    const placed = one.filter((s) => s.kind === 'placeModule');
    assert.deepEqual(
      placed.map((s) => s.kind === 'placeModule' && s.to),
      [`${LIB}/updates/dkms/other.ko`],
    );
  });

  it('runs PRE_INSTALL first and stops on its failure unless --force', () => {
    const steps = planInstall(facts({ preInstall: 'pre.sh', postInstall: 'post.sh' }));
    const first = steps[0];
    assert.equal(first?.kind, 'script');
    assert.equal(first?.kind === 'script' && first.mustSucceed?.code, 'PRE_INSTALL_FAILED');
    const post = steps.find((s) => s.kind === 'script' && s.phase === 'post_install');
    assert.ok(post, 'post_install is planned');
    const forced = planInstall(facts({ preInstall: 'pre.sh', force: true }))[0];
    assert.equal(forced?.kind === 'script' && forced.mustSucceed, undefined);
  });

  it('deletes temporaries an interrupted copy left before copying again', () => {
    const stale = `${LIB}/updates/dkms/.hello.ko.dkms-17.tmp`;
    const steps = planInstall(facts({ modules: [module({ litter: [stale] })] }));
    assert.deepEqual(steps[0], { kind: 'removeFile', path: stale });
  });

  it('refuses a destination outside the kernel tree', () => {
    assert.throws(
      () => planInstall(facts({ modules: [module({ destDir: '/lib/modules/other' })] })),
      (error: unknown) => error instanceof DkmsError && error.code === 'BAD_PATH',
    );
  });
});

describe('planInstall and the finish ledger', () => {
  it('marks what the install owes the kernel before its first change', () => {
    const steps = planInstall(facts({ owe: ['depmod', 'initramfs'] }));
    const owe = steps.findIndex((step) => step.kind === 'owe');
    const firstChange = steps.findIndex((step) => step.kind === 'placeModule');
    assert.deepEqual(steps[owe], {
      kind: 'owe',
      kernel: K,
      arch: 'x86_64',
      steps: ['depmod', 'initramfs'],
    });
    assert.ok(owe >= 0 && owe < firstChange);
  });
  it('owes nothing when the version check refuses every module', () => {
    const steps = planInstall(
      facts({ owe: ['depmod'], modules: [module({ conflict: 'not newer' })] }),
    );
    assert.equal(
      steps.some((step) => step.kind === 'owe'),
      false,
    );
  });
});
