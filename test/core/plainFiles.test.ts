import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bashEvaluate } from '../../src/core/bashEval.js';
import { DKMS_CONF_VARIABLES } from '../../src/conf/directives.js';
import { plainInputs, scanPlainFile } from '../../src/core/plainFiles.js';

const INPUTS = new Set(['kernelver', 'arch', 'kernel_source_dir', 'dkms_tree', 'module']);

// dkms.conf files as Debian's *-dkms packages write them (acpi-call, dahdi, dpdk-kmods, jool)
const REAL = [
  `PACKAGE_NAME="acpi-call"
PACKAGE_VERSION="1.2.2"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build"
CLEAN="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build clean"
BUILT_MODULE_NAME[0]="acpi_call"
DEST_MODULE_LOCATION[0]="/extra"
AUTOINSTALL="yes"
BUILD_EXCLUSIVE_CONFIG="CONFIG_ACPI"
`,
  `# comment
PACKAGE_VERSION="2.11.1.0.20170917"
BUILD_EXCLUSIVE_KERNEL="^(5\\.[6-9]\\.|5\\.[1-9][0-9]\\.|[6-9]\\.)"
PACKAGE_NAME="dahdi"
MAKE[0]="(make modules KVERS=$kernelver MODULES_EXTRA='dahdi_dummy dahdi_echocan_oslec'; make KVERS=$kernelver)"
CLEAN="/bin/true"
BUILT_MODULE_NAME[31]="oct612x"
AUTOINSTALL=yes
`,
  `PACKAGE_NAME="dpdk-kmods"
PACKAGE_VERSION="0~20220829+git"
MAKE="make -C $kernel_source_dir M=$dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION/build MODULE_CFLAGS='-fno-PIE' modules"
DEST_MODULE_LOCATION[0]=/updates/dkms   # trailing comment
`,
  `PACKAGE_NAME="jool-dkms"; PACKAGE_VERSION="4.1.9"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build/src/mod/common modules \\
      && make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build/src/mod/nat64 modules"
BUILT_MODULE_NAME[0]="jool_common" BUILT_MODULE_LOCATION[0]='src/mod/common/'
STRIP[0]=no
POST_BUILD+=" more"
`,
];

describe('scanPlainFile', () => {
  it('accepts what real dkms.conf files mostly are: assignments, quotes, expansions', () => {
    for (const text of REAL) assert.ok(scanPlainFile(text), text);
    assert.deepEqual([...(scanPlainFile(REAL[1] as string)?.reads ?? [])], ['kernelver']);
    assert.deepEqual(
      [...(scanPlainFile(REAL[0] as string)?.reads ?? [])].sort(),
      ['dkms_tree', 'kernel_source_dir'],
      'names it assigned first are not inputs',
    );
  });

  it('rejects anything that runs, reads, globs or changes the shell', () => {
    for (const text of [
      'V=$(uname -r)',
      'V=`uname -r`',
      'V="$(uname -r)"',
      'V="`uname -r`"',
      'V=$((1+2))',
      '. /etc/foo',
      'source ./extra.conf',
      'if [ -f x ]; then X=1; fi',
      'X=1 make',
      'X=1 && Y=2',
      'X=1 | Y=2',
      'export X=1',
      'declare X=1',
      'readonly X=1',
      'X=(a b)',
      'X=*.ko',
      'X=a?b',
      'X=[ab]',
      'X=~/src',
      'X={a,b}',
      'X=a#b',
      'X=$1',
      'X="$@"',
      'X=${Y:-z}',
      'X=${#Y}',
      'X=${Y/a/b}',
      "X=$'a'",
      'X="unterminated',
      "X='unterminated",
      'X=a\\ b',
      'X=a\\\nY=b',
      '_x=1',
      '__dkms_f=1',
      'auto_resume=1',
      'histchars=x',
      'IFS=:',
      'PATH=/tmp',
      'BASH_ENV=/tmp/x',
      'HISTFILE=/tmp/x',
      'LC_ALL=C',
      'X[$i]=1',
      'X=1;;',
      ';',
      'X=1\r\n',
      'X <<EOF\nEOF',
      'X=1 # ok\nfoo',
    ]) {
      assert.equal(scanPlainFile(text), undefined, JSON.stringify(text));
    }
  });
});

describe('plainInputs', () => {
  it("takes later files' reads from earlier files' assignments, and nothing else", () => {
    const conf = scanPlainFile('PACKAGE_NAME=a\nMAKE="make $kernelver"');
    const override = scanPlainFile('BUILT_MODULE_NAME="$PACKAGE_NAME-$arch"');
    const stranger = scanPlainFile('X="$HOSTNAME"');
    assert.deepEqual(plainInputs([conf, override], INPUTS), ['arch', 'kernelver']);
    assert.equal(plainInputs([override, conf], INPUTS), undefined);
    assert.equal(plainInputs([conf, stranger], INPUTS), undefined, 'a shell variable');
    assert.equal(plainInputs([conf, undefined], INPUTS), undefined, 'a file that is not plain');
  });
});

const dir = mkdtempSync(join(tmpdir(), 'pure-conf.'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a plain file depends on its text and its inputs only', () => {
  it('gives what bash gives whatever the variables it does not read are', async () => {
    // each real conf, evaluated by bash with two sets of values for every dkms variable: the
    // results may differ only where the conf reads a variable whose value changed
    const names = [...DKMS_CONF_VARIABLES];
    const a = {
      kernelver: '6.1.0-47-amd64',
      arch: 'x86_64',
      kernel_source_dir: '/a',
      dkms_tree: '/t',
      module: 'm',
    };
    const b = { kernelver: '6.1.0-50-amd64', arch: 'arm64', kernel_source_dir: '/b', dkms_tree: '/u', module: 'n' }; // prettier-ignore
    for (const [n, text] of REAL.entries()) {
      const file = join(dir, `real${n}.conf`);
      writeFileSync(file, text);
      const reads = plainInputs([scanPlainFile(text)], INPUTS) ?? [];
      // only the variables it reads take b's values: the result must not change
      const mixed = Object.fromEntries(
        Object.entries(b).map(([name, value]) => [
          name,
          reads.includes(name) ? a[name as keyof typeof a] : value,
        ]),
      );
      const [fromA, fromMixed] = await bashEvaluate([
        { files: [file], variables: a, whitelist: names },
        { files: [file], variables: mixed, whitelist: names },
      ]);
      assert.ok(fromA && !fromA.failure && fromA.stderr === '', text);
      assert.deepEqual(fromMixed?.values, fromA.values, text);
      // and bash given the text instead of the file says the same
      const [fromText] = await bashEvaluate([
        { files: [file], variables: a, whitelist: names, texts: [text] },
      ]);
      assert.deepEqual(fromText?.values, fromA.values, text);
    }
  });
});
