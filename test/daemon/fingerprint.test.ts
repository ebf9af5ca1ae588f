import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildFingerprint } from '../../src/daemon/failures/fingerprint.js';
import { headersStamp } from '../../src/kernel/headers.js';

const root = mkdtempSync(join(tmpdir(), 'dkmsd-fingerprint-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('build fingerprint', () => {
  it('changes when headers that were half unpacked are complete', () => {
    const headers = join(root, 'headers');
    const source = join(root, 'src');
    mkdirSync(join(headers, 'include', 'config'), { recursive: true });
    mkdirSync(source);
    writeFileSync(join(headers, 'Makefile'), 'include ../common/Makefile\n');
    const input = () => ({
      sourceDir: source,
      confDir: root,
      headersStamp: headersStamp([headers]),
    });
    const halfUnpacked = buildFingerprint(input());
    assert.equal(buildFingerprint(input()), halfUnpacked);
    // What dpkg renames into place after the Makefile.
    writeFileSync(join(headers, 'include', 'config', 'auto.conf'), 'CONFIG_64BIT=y\n');
    const withConfig = buildFingerprint(input());
    assert.notEqual(withConfig, halfUnpacked);
    writeFileSync(join(headers, 'Module.symvers'), '');
    assert.notEqual(buildFingerprint(input()), withConfig);
  });
});
