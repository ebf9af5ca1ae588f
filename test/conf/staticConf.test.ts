import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isKernelIndependent, legacyVariables } from '../../src/conf/staticConf.js';

const dir = mkdtempSync(join(tmpdir(), 'static-conf.'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const check = (text: string): boolean => {
  const file = join(dir, `c${n++}.conf`);
  writeFileSync(file, text);
  return isKernelIndependent(file);
};

describe('isKernelIndependent', () => {
  it('accepts plain assignments and kernel-independent expansions', () => {
    assert.equal(
      check(
        'PACKAGE_NAME=a\nBUILT_MODULE_NAME[0]="$PACKAGE_NAME"\nMAKE[0]="make -C ${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build"\n# source x\n',
      ),
      true,
    );
  });

  it('rejects anything that could depend on the kernel', () => {
    for (const text of [
      'MAKE[0]="make KVER=$kernelver"',
      'MAKE[0]="make -C ${kernel_source_dir}"',
      'if [ -f $kernel_source_dir/.config ]; then X=1; fi',
      'V=$(uname -r)',
      'V=`uname -r`',
      '. /etc/foo',
      'source ./extra.conf',
      'read X < /proc/version',
      'X=$arch',
      'X=$1',
      'eval X=1',
    ]) {
      assert.equal(check(text), false, text);
    }
  });
});

describe('legacyVariables', () => {
  const file = (text: string): string => {
    const path = join(dir, `l${n++}.conf`);
    writeFileSync(path, text);
    return path;
  };

  it('names the MAKE_<text> / PATCH_<text> forms the files set, not MAKE_MATCH', () => {
    const conf = file('MAKE[0]="make"\nMAKE_MATCH[0]=x\nMAKE_amd64="make a"\n# MAKE_old="x"\n');
    const override = file('PATCH_smp=p.patch\nREMAKE_INITRD=no\nCONFIG_MAKE_X=y\n');
    assert.deepEqual(legacyVariables([conf, override]), ['MAKE_amd64', 'PATCH_smp']);
    assert.deepEqual(legacyVariables([file('. $kernel_source_dir/.config\n')]), []);
  });

  it('asks for every variable by prefix when a name is made at run time', () => {
    assert.deepEqual(legacyVariables([file('declare "MAKE_$arch=make"\n')]), ['MAKE_*', 'PATCH_*']);
  });
});
