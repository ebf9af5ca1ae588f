import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileMemo } from '../../src/core/fileMemo.js';
import { isKernelIndependent } from '../../src/conf/staticConf.js';
import { readKernelConfig } from '../../src/kernel/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'dkms-filememo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('FileMemo', () => {
  it('derives once while the file is unchanged, again after any change', () => {
    const file = join(dir, 'a');
    writeFileSync(file, 'one');
    let reads = 0;
    const memo = new FileMemo((path) => {
      reads++;
      return `${path}#${reads}`;
    });
    assert.equal(memo.get(file), `${file}#1`);
    assert.equal(memo.get(file), `${file}#1`);
    // Same size, same mtime set back: the change time still moves.
    writeFileSync(file, 'two');
    utimesSync(file, new Date(0), new Date(0));
    assert.equal(memo.get(file), `${file}#2`);
    // Replaced by another file (a package upgrade renames over it).
    writeFileSync(join(dir, 'b'), 'two');
    renameSync(join(dir, 'b'), file);
    assert.equal(memo.get(file), `${file}#3`);
    assert.equal(reads, 3);
  });

  it('does not remember a missing file', () => {
    let reads = 0;
    const memo = new FileMemo(() => ++reads);
    memo.get(join(dir, 'missing'));
    memo.get(join(dir, 'missing'));
    assert.equal(reads, 2);
  });
});

describe('caches kept by dkmsd', () => {
  it('readKernelConfig reads a changed config again', () => {
    const config = join(dir, '.config');
    writeFileSync(config, 'CONFIG_FOO=y\n');
    assert.equal(readKernelConfig(config)?.get('CONFIG_FOO'), 'y');
    writeFileSync(config, 'CONFIG_FOO=m\n');
    assert.equal(readKernelConfig(config)?.get('CONFIG_FOO'), 'm');
  });

  it('isKernelIndependent judges an edited conf again', () => {
    const conf = join(dir, 'dkms.conf');
    writeFileSync(conf, 'PACKAGE_NAME="a"\n');
    assert.equal(isKernelIndependent(conf), true);
    writeFileSync(conf, 'PACKAGE_NAME="$kernelver"\n');
    assert.equal(isKernelIndependent(conf), false);
  });
});
