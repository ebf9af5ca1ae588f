import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readKernelConfig } from '../../src/kernel/kernel.js';

describe('kernel config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dkms-kconfig.'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers by name as a .config says: unquoted, the last assignment, unset names absent', () => {
    const file = join(dir, '.config');
    writeFileSync(
      file,
      [
        'CONFIG_64BIT=y',
        '# CONFIG_MODULE_SIG_FORCE is not set',
        'CONFIG_MODULE_SIG_HASH="sha512"',
        'CONFIG_LOCALVERSION=""',
        'CONFIG_FOO=m',
        'CONFIG_FOO_BAR=y',
        'CONFIG_FOO=y',
        'CONFIG_LAST=42',
      ].join('\n'),
    );
    const config = readKernelConfig(file);
    assert.equal(config?.get('CONFIG_64BIT'), 'y');
    assert.equal(config.get('CONFIG_MODULE_SIG_HASH'), 'sha512');
    assert.equal(config.get('CONFIG_LOCALVERSION'), '');
    assert.equal(config.get('CONFIG_FOO'), 'y');
    assert.equal(config.get('CONFIG_LAST'), '42');
    assert.equal(config.get('CONFIG_MODULE_SIG_FORCE'), undefined);
    assert.equal(config.get('CONFIG_FO'), undefined);
    assert.equal(config.get('CONFIG_.*'), undefined);
  });

  it('is undefined without a file', () => {
    assert.equal(readKernelConfig(join(dir, 'missing')), undefined);
  });
});
