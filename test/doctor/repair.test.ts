import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/doctor/findings.js';
import { ownerPid } from '../../src/doctor/gatherInterruptions.js';
import { interruptionFindings, kernelLitterFindings } from '../../src/doctor/interruptionChecks.js';
import { planRepairs } from '../../src/doctor/repair.js';

const K = '6.1.0-50-amd64';

describe('interruption checks', () => {
  it('passes a module with no journal and no leftovers', () => {
    const findings = interruptionFindings({ module: 'hello', journal: undefined, litter: [] });
    assert.deepEqual(
      findings.map((f) => [f.check, f.severity]),
      [
        ['interrupted', 'ok'],
        ['litter', 'ok'],
      ],
    );
  });

  it('calls an unfinished journal an error naming the remaining steps', () => {
    const [journal] = interruptionFindings({
      module: 'hello',
      journal: {
        path: '/var/lib/dkms/hello/.dkms-journal',
        title: `install of hello/1.0 for ${K} (x86_64)`,
        mode: 'do',
        remaining: ['ln -sfn 1.0/... kernel-...', `depmod ${K}`],
        running: false,
      },
      litter: [],
    });
    assert.equal(journal?.severity, 'error');
    assert.match(
      journal?.message ?? '',
      /install of hello\/1\.0 .* was interrupted: 2 steps remain/,
    );
    assert.match(journal?.fix ?? '', /dkms doctor --fix/);
  });

  it('leaves a journal of a command still running alone', () => {
    const [journal] = interruptionFindings({
      module: 'hello',
      journal: {
        path: 'j',
        title: 'install of hello/1.0',
        mode: 'do',
        remaining: [],
        running: true,
      },
      litter: [],
    });
    assert.equal(journal?.severity, 'info');
  });

  it('warns about leftovers in the dkms tree and each temporary copy in a kernel tree', () => {
    const [, litter] = interruptionFindings({
      module: 'hello',
      journal: undefined,
      litter: [`/var/lib/dkms/hello/1.0/${K}/.tmp_x86_64_12_abc`],
    });
    assert.equal(litter?.severity, 'warning');
    const files = kernelLitterFindings({
      kernel: K,
      files: [`/lib/modules/${K}/updates/dkms/.hello.ko.dkms-12.tmp`],
    });
    assert.equal(files.length, 1);
    assert.equal(files[0]?.file, `/lib/modules/${K}/updates/dkms/.hello.ko.dkms-12.tmp`);
    assert.equal(kernelLitterFindings({ kernel: K, files: [] })[0]?.severity, 'ok');
  });

  it('reads the owning process from temporary names', () => {
    assert.equal(ownerPid('/x/.tmp_x86_64_4321_lzq0a1'), 4321);
    assert.equal(ownerPid('/x/.tmp_x86_64_removed_77'), 77);
    assert.equal(ownerPid('/x/.hello.ko.dkms-99.tmp'), 99);
    assert.equal(ownerPid('/x/.dkms-journal.tmp'), undefined);
  });
});

describe('planRepairs', () => {
  const finding = (over: Partial<Finding>): Finding => ({
    check: 'litter',
    severity: 'warning',
    message: '',
    fix: 'dkms doctor --fix',
    ...over,
  });

  it('recovers modules first, then removes stray files, then runs depmod, each once', () => {
    const repairs = planRepairs([
      finding({ check: 'modules-dep', severity: 'error', kernel: K, module: 'hello' }),
      finding({ kernel: K, file: '/lib/modules/x/.a.ko.dkms-1.tmp' }),
      finding({ check: 'interrupted', severity: 'error', module: 'hello' }),
      finding({ module: 'hello' }),
      finding({ check: 'modules-dep', severity: 'warning', kernel: K }),
      finding({ check: 'vermagic', severity: 'error', kernel: K, module: 'other' }),
      finding({ check: 'interrupted', severity: 'info', module: 'busy' }),
    ]);
    assert.deepEqual(repairs, [
      { kind: 'recover', module: 'hello' },
      { kind: 'removeFile', kernel: K, path: '/lib/modules/x/.a.ko.dkms-1.tmp' },
      { kind: 'depmod', kernel: K },
    ]);
  });

  it('plans nothing when every check passed', () => {
    assert.deepEqual(planRepairs([finding({ severity: 'ok', module: 'hello' })]), []);
  });
});
