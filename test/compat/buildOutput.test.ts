import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ARCH, K47 } from '../helpers/roots.js';
import { SandboxPair, sameOutput } from './pair.js';
import { compatSetup } from './setup.js';
import { moduleSource, simpleConf } from './sources.js';
import type { Upstream } from './upstream.js';

const { skip, upstream } = await compatSetup([]);

const PATCH = `--- a/pm.c\n+++ b/pm.c\n@@ -1 +1,2 @@\n #include <linux/module.h>\n+/* patched */\n`;
const SCRIPT = '#!/bin/sh\necho "out from $0"\necho "err from $0" >&2\n';

describe("build output and make.log: ours and Debian sid's dkms", { skip }, () => {
  const pairs: SandboxPair[] = [];
  after(() => pairs.forEach((pair) => pair.cleanup()));
  const pairWith = (module: string, files: Record<string, string>): SandboxPair => {
    const pair = new SandboxPair(upstream as Upstream);
    pairs.push(pair);
    pair.writeSource(module, '1.0', files);
    return pair;
  };

  it('adds, prints the signing line, runs patch, scripts and make, and logs each step', async () => {
    const pair = pairWith(
      'pm',
      moduleSource('pm', {
        'dkms.conf': simpleConf(
          'pm',
          '1.0',
          'PATCH[0]="p.patch"\nPRE_BUILD="pre.sh"\nPOST_BUILD="post.sh arg"\n',
        ),
        'patches/p.patch': PATCH,
        'pre.sh +x': SCRIPT,
        'post.sh +x': SCRIPT,
      }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'pm/1.0', '-k', K47]), 0);
    const logs = pair.makeLogs(`pm/1.0/${K47}/${ARCH}/log/make.log`);
    assert.equal(logs.ours, logs.upstream);
    assert.match(
      logs.ours,
      /^Applying patch p\.patch\n# command: patch -p1 < \.\/patches\/p\.patch\n/m,
    );
    assert.match(logs.ours, /^out from .*\nerr from /m);
  });

  it('reports a failed make with the failed command and keeps build/make.log', async () => {
    const pair = pairWith(
      'bad',
      moduleSource('bad', {
        'dkms.conf': simpleConf('bad', '1.0'),
        'bad.c': '#error "does not build"\n',
      }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'bad/1.0', '-k', K47]), 10);
    const logs = pair.makeLogs('bad/1.0/build/make.log');
    assert.equal(logs.ours, logs.upstream);
  });

  it('turns -j0 into a bare -j, as make gets it and make.log shows it', async () => {
    const pair = pairWith('jz', moduleSource('jz', { 'dkms.conf': simpleConf('jz', '1.0') }));
    sameOutput('build -j0', await pair.runNormalized(['build', 'jz/1.0', '-k', K47, '-j', '0']), 0);
    const logs = pair.makeLogs(`jz/1.0/${K47}/${ARCH}/log/make.log`);
    assert.equal(logs.ours, logs.upstream);
    assert.match(logs.ours, /^# command: make -j KERNELRELEASE=/m);
  });

  it('stops on a missing patch (5) and a module the build did not make (7)', async () => {
    const pair = pairWith(
      'np',
      moduleSource('np', { 'dkms.conf': simpleConf('np', '1.0', 'PATCH[0]="gone.patch"\n') }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'np/1.0', '-k', K47]), 5);
    pair.writeSource('nm', '1.0', {
      ...moduleSource('nm'),
      'dkms.conf': simpleConf(
        'nm',
        '1.0',
        'BUILT_MODULE_NAME[1]="other"\nDEST_MODULE_LOCATION[1]="/updates/dkms"\n',
      ),
    });
    sameOutput('build', await pair.runNormalized(['build', 'nm/1.0', '-k', K47]), 7);
  });

  it('stops on a failing PRE_BUILD with its status and the log to consult', async () => {
    const pair = pairWith(
      'pre',
      moduleSource('pre', {
        'dkms.conf': simpleConf('pre', '1.0', 'PRE_BUILD="fail.sh"\n'),
        'fail.sh +x': '#!/bin/sh\necho failing\nexit 3\n',
      }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'pre/1.0', '-k', K47]), 3);
  });

  it('skips a BUILD_EXCLUSIVE mismatch with the warning and 77', async () => {
    const pair = pairWith(
      'excl',
      moduleSource('excl', {
        'dkms.conf': simpleConf('excl', '1.0', 'BUILD_EXCLUSIVE_KERNEL="^5\\."\n'),
      }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'excl/1.0', '-k', K47]), 77);
  });

  it('reports missing headers with exit 21', async () => {
    const pair = pairWith('hdr', moduleSource('hdr', { 'dkms.conf': simpleConf('hdr', '1.0') }));
    for (const roots of pair.both()) mkdirSync(join(roots.lib, '6.1.0-99-amd64'));
    sameOutput('build', await pair.runNormalized(['build', 'hdr/1.0', '-k', '6.1.0-99-amd64']), 21);
  });

  it('aborts on missing BUILD_DEPENDS (13) and builds anyway with --force', async () => {
    const pair = pairWith(
      'dep',
      moduleSource('dep', { 'dkms.conf': simpleConf('dep', '1.0', 'BUILD_DEPENDS=("other")\n') }),
    );
    sameOutput('build', await pair.runNormalized(['build', 'dep/1.0', '-k', K47]), 13);
    sameOutput(
      'build --force',
      await pair.runNormalized(['build', 'dep/1.0', '-k', K47, '--force']),
      0,
    );
  });
});
