import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ARCH,
  K47,
  K50,
  dkms,
  makeRoots,
  skipWithoutHeaders,
  type Roots,
} from '../helpers/roots.js';
import { moduleSource, simpleConf, writeModule, writeSource } from './sources.js';

/*
 * dkms 3.3/3.4 features the sid oracle (3.2.2) lacks or cannot show in a sandbox: golden
 * output written from dkms 3.4.3's dkms.in.
 */
describe(
  'dkms 3.4 framework.conf and /etc/dkms/<module>/ features',
  { skip: skipWithoutHeaders },
  () => {
    let roots: Roots;
    before(() => {
      roots = makeRoots([K47]);
    });
    after(() => roots.cleanup());
    const framework = (text: string): void =>
      writeFileSync(join(roots.confDir, 'framework.conf'), text);

    it("passes framework.conf's own stderr through, as dkms's sourcing of it does", async () => {
      framework('echo "note from framework.conf" >&2\ntry_sign_modules=false\n');
      const status = await dkms(roots, ['status']);
      assert.equal(status.code, 0);
      assert.equal(status.stderr, 'note from framework.conf\n');
      framework('try_sign_modules=false\nif then\n');
      const broken = await dkms(roots, ['status']);
      assert.equal(broken.code, 0);
      assert.match(
        broken.stderr,
        /framework\.conf: line 2: syntax error near unexpected token `then'/,
      );
      framework('try_sign_modules=false\n');
    });

    it('runs post_transaction after install and remove, with $kernelver, logged', async () => {
      writeSource(
        join(roots.src, 'pt-1.0'),
        moduleSource('pt', { 'dkms.conf': simpleConf('pt', '1.0') }),
      );
      framework('post_transaction="echo transaction for $kernelver"\ntry_sign_modules=false\n');
      const install = await dkms(roots, ['install', 'pt/1.0', '-k', K47, '--no-depmod']);
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, /\nExecuting post-transaction command\.\.\.\.* done\.\n$/);
      const log = readFileSync(join(roots.tree, 'post_transaction.log'), 'utf8');
      assert.match(
        log,
        new RegExp(
          `^\\nExecuting post-transaction command\\n# command: echo transaction for ${K47}\\ntransaction for ${K47}\\n\\n# exit code: 0\\n# elapsed time: \\d\\d:\\d\\d:\\d\\d\\n-{64}\\n$`,
        ),
      );
      const remove = await dkms(roots, ['remove', 'pt/1.0', '--all', '--no-depmod']);
      assert.equal(remove.code, 0, remove.stderr);
      assert.match(remove.stdout, /Executing post-transaction command\.\.\.\.* done\.\n$/);
    });

    it('sources build_environment before make, with $kernelver, and follows try_sign_modules', async () => {
      const envFile = join(roots.root, 'build.env');
      writeFileSync(envFile, 'export DKMS_TS_BUILT_FOR="k=$kernelver"\n');
      framework(`build_environment="${envFile}"\ntry_sign_modules=false\n`);
      writeSource(
        join(roots.src, 'be-1.0'),
        moduleSource('be', {
          'dkms.conf': simpleConf('be', '1.0', 'PRE_BUILD="show.sh"\n'),
          'show.sh +x': '#!/bin/sh\necho "env: $DKMS_TS_BUILT_FOR"\n',
        }),
      );
      const build = await dkms(roots, ['build', 'be/1.0', '-k', K47]);
      assert.equal(build.code, 0, build.stderr);
      assert.match(
        build.stdout,
        /^Module signing is disabled by policy, modules won't be signed\n\nRunning the pre_build script/m,
      );
      const log = readFileSync(join(roots.tree, 'be/1.0', K47, ARCH, 'log/make.log'), 'utf8');
      assert.match(log, new RegExp(`^env: k=${K47}$`, 'm'));
    });

    it('prefers scripts in /etc/dkms/<module>/ and overlays its patches/', async () => {
      framework('try_sign_modules=false\n');
      writeSource(
        join(roots.src, 'ov-1.0'),
        moduleSource('ov', {
          'dkms.conf': simpleConf('ov', '1.0', 'PRE_BUILD="pre.sh"\nPATCH[0]="local.patch"\n'),
          'pre.sh +x': '#!/bin/sh\necho from source\n',
        }),
      );
      const override = join(roots.confDir, 'ov');
      mkdirSync(join(override, 'patches'), { recursive: true });
      writeSource(override, {
        'pre.sh +x': '#!/bin/sh\necho from etc\n',
        'patches/local.patch':
          '--- a/ov.c\n+++ b/ov.c\n@@ -1 +1,2 @@\n #include <linux/module.h>\n+/* local */\n',
      });
      const build = await dkms(roots, ['build', 'ov/1.0', '-k', K47]);
      assert.equal(build.code, 0, build.stderr + build.stdout);
      assert.match(build.stdout, /^Applying patch local\.patch\.\.\.\.* done\.$/m);
      const log = readFileSync(join(roots.tree, 'ov/1.0', K47, ARCH, 'log/make.log'), 'utf8');
      assert.match(
        log,
        new RegExp(`# command: cd ${override}/ && ${override}/pre\\.sh\\nfrom etc\\n`),
      );
    });

    it('records BUILD_DEPENDS versions and rebuilds dependants when a dependency changes', async () => {
      framework('try_sign_modules=false\n');
      const add = (name: string, version: string, extra = ''): void =>
        writeModule(roots.src, name, version, extra);
      add('base', '1.0');
      add('dep', '1.0', 'BUILD_DEPENDS=("base")\nBUILD_DEPENDS_REBUILD=yes\n');
      add('other', '1.0');
      for (const mv of ['base/1.0', 'dep/1.0']) {
        const r = await dkms(roots, ['install', mv, '-k', K47, '--no-depmod']);
        assert.equal(r.code, 0, r.stderr + r.stdout);
      }
      const recorded = join(roots.tree, 'dep/1.0', K47, ARCH, '.dep_base');
      assert.equal(readFileSync(recorded, 'utf8'), '1.0\n');
      add('base', '2.0');
      assert.equal((await dkms(roots, ['add', 'base/2.0'])).code, 0);
      const r = await dkms(roots, ['install', 'other/1.0', '-k', K47, '--no-depmod']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /\n\nRebuilding module dep\/1\.0 due to updated dependencies\n\n/);
      assert.equal(readFileSync(recorded, 'utf8'), '2.0\n');
    });

    it('takes make -j from parallel_jobs in the environment; refuses several -k for autoinstall (4)', async () => {
      writeModule(roots.src, 'pj', '1.0');
      const build = await dkms(roots, ['build', 'pj/1.0', '-k', K47], { parallel_jobs: '3' });
      assert.equal(build.code, 0, build.stderr);
      const log = readFileSync(join(roots.tree, 'pj/1.0', K47, ARCH, 'log/make.log'), 'utf8');
      assert.match(log, new RegExp(`^# command: make -j3 KERNELRELEASE=${K47} `, 'm'));
      if (!existsSync(join(roots.lib, K50))) roots.addKernel(K50);
      const auto = await dkms(roots, ['autoinstall', '-k', K47, '-k', K50]);
      assert.equal(auto.code, 4);
      assert.equal(
        auto.stderr,
        '\nError! The action autoinstall does not support multiple kernel version parameters on the command line.\n',
      );
    });

    it('builds and installs only the modules BUILD_EXCLUSIVE_*[i] leaves for the kernel', async () => {
      writeSource(join(roots.src, 'pm2-1.0'), {
        ...moduleSource('one'),
        Makefile: 'obj-m := one.o two.o\n',
        'two.c': moduleSource('two')['two.c'] ?? '',
        'dkms.conf':
          'PACKAGE_NAME="pm2"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="one"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nBUILT_MODULE_NAME[1]="two"\nDEST_MODULE_LOCATION[1]="/updates/dkms"\nBUILD_EXCLUSIVE_KERNEL[1]="^5\\."\n',
      });
      const install = await dkms(roots, ['install', 'pm2/1.0', '-k', K47, '--no-depmod']);
      assert.equal(install.code, 0, install.stderr);
      const lib = join(roots.lib, K47, 'updates/dkms');
      assert.match(install.stdout, new RegExp(`^Installing ${lib}/one\\.ko$`, 'm'));
      assert.doesNotMatch(install.stdout, /two\.ko/);
      assert.ok(existsSync(join(lib, 'one.ko')) && !existsSync(join(lib, 'two.ko')));
      const status = await dkms(roots, ['status', 'pm2/1.0']);
      assert.equal(status.stdout, `pm2/1.0, ${K47}, ${ARCH}: installed\n`);
      // an uninstall of the version not installed for a kernel says nothing (per-module exclusives)
      if (!existsSync(join(roots.lib, K50))) roots.addKernel(K50);
      const uninstall = await dkms(roots, ['uninstall', 'pm2/1.0', '-k', K50, '--no-depmod']);
      assert.deepEqual([uninstall.code, uninstall.stdout], [0, '']);
    });

    it("rebuilds dependants after an autoinstall's install, inside that module's attempt", async () => {
      const own = makeRoots([K47]);
      try {
        writeFileSync(join(own.confDir, 'framework.conf'), 'try_sign_modules=false\n');
        writeModule(own.src, 'base', '1.0');
        writeModule(own.src, 'dep', '1.0', 'BUILD_DEPENDS=("base")\nBUILD_DEPENDS_REBUILD=yes\n');
        writeModule(own.src, 'other', '1.0');
        for (const mv of ['base/1.0', 'dep/1.0', 'other/1.0']) {
          const r = await dkms(own, ['install', mv, '-k', K47, '--no-depmod']);
          assert.equal(r.code, 0, r.stderr + r.stdout);
        }
        writeModule(own.src, 'base', '2.0');
        assert.equal((await dkms(own, ['add', 'base/2.0'])).code, 0);
        const auto = await dkms(own, ['autoinstall', '-k', K47, '--no-depmod']);
        assert.equal(auto.code, 0, auto.stderr + auto.stdout);
        const lib = `${own.lib}/${K47}/updates/dkms`;
        assert.equal(
          auto.stdout.replace(/\.\.\.\.+/g, '...'),
          [
            "Module signing is disabled by policy, modules won't be signed",
            '',
            `Autoinstall of module base/2.0 for kernel ${K47} (${ARCH})`,
            'Building module(s)... done.',
            `Installing ${lib}/base.ko`,
            'Running depmod... done.',
            '',
            'Rebuilding module dep/1.0 due to updated dependencies',
            '',
            `Module dep/1.0 for kernel ${K47} (${ARCH}):`,
            'Before uninstall, this module version was ACTIVE on this kernel.',
            `Deleting ${lib}/dep.ko`,
            'Running depmod... done.',
            'Building module(s)... done.',
            `Installing ${lib}/dep.ko`,
            'Running depmod... done.',
            '',
            `Autoinstall on ${K47} succeeded for module(s) dep other base.`,
            '',
          ].join('\n'),
        );
        const recorded = join(own.tree, 'dep/1.0', K47, ARCH, '.dep_base');
        assert.equal(readFileSync(recorded, 'utf8'), '2.0\n');
      } finally {
        own.cleanup();
      }
    });
  },
);
