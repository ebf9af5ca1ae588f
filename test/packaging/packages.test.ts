import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findTool } from '../../src/packaging/tools.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  dkmsBin,
  haveHeaders,
  makeRoots,
  run,
  type Roots,
} from '../helpers/roots.js';

const missing = (tools: string[], why: string): string | false => {
  const absent = tools.filter((tool) => !findTool(tool));
  return absent.length > 0 ? `${absent.join(', ')} not installed (${why})` : false;
};
const headers = haveHeaders(K47) ? false : `kernel headers ${K47} are not installed`;
const skipDeb = headers || missing(['dpkg-deb', 'dpkg'], 'apt-get install dpkg');
const skipDsc =
  headers || missing(['dpkg-source', 'dpkg-buildpackage'], 'apt-get install dpkg-dev');
const skipRpm = headers || missing(['rpmbuild', 'rpm', 'modinfo'], 'apt-get install rpm kmod');

/** Test-local aliases: the fixture itself has none, and test/fixtures stays untouched. */
const ALIASES = ['pci:v00008086d0000ABCDsv*sd*bc*sc*i*', 'dkms-ts-hello-test'];

const ok = async (promise: ReturnType<typeof run>): Promise<string> => {
  const r = await promise;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

const sorted = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .sort();

/** A sandbox whose `dkms` on PATH is bin/dkms with the sandbox's tree options, for maintainer scripts. */
function dkmsOnPath(roots: Roots, sourceTree: string): NodeJS.ProcessEnv {
  const bin = join(roots.root, 'bin');
  mkdirSync(bin, { recursive: true });
  const args = roots.treeArgs.map((arg) => (arg === roots.src ? sourceTree : arg));
  writeFileSync(
    join(bin, 'dkms'),
    `#!/bin/sh\nexec '${dkmsBin}' "$@" ${args.map((a) => `'${a}'`).join(' ')}\n`,
  );
  chmodSync(join(bin, 'dkms'), 0o755);
  return { PATH: `${bin}:${process.env['PATH'] ?? ''}`, DKMS_OS_RELEASE: '/etc/os-release' };
}

describe('package builders with a real build', { skip: headers }, () => {
  let roots: Roots;
  let ko: string;
  before(async () => {
    roots = makeRoots([K47]);
    const src = roots.addFixture('hello-1.0');
    appendFileSync(
      join(src, 'hello.c'),
      ALIASES.map((alias) => `MODULE_ALIAS("${alias}");\n`).join(''),
    );
    const r = await dkms(roots, ['build', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    ko = join(roots.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko');
    assert.deepEqual(sorted(await ok(run('modinfo', ['-F', 'alias', ko]))), [...ALIASES].sort());
  });
  after(() => roots.cleanup());

  const debDir = (): string => join(roots.tree, 'hello/1.0/deb');

  it('mkdeb: a source package with dkms maintainer scripts', { skip: skipDeb }, async () => {
    const r = await dkms(roots, ['mkdeb', 'hello/1.0']);
    assert.equal(r.code, 0, r.stderr);
    const deb = join(debDir(), 'hello-dkms_1.0_all.deb');
    assert.match(r.stdout, new RegExp(`Debian package: ${deb}`));
    const field = async (name: string): Promise<string> =>
      (await ok(run('dpkg-deb', ['-f', deb, name]))).trim();
    assert.equal(await field('Package'), 'hello-dkms');
    assert.equal(await field('Version'), '1.0');
    assert.equal(await field('Architecture'), 'all');
    assert.equal(await field('Depends'), 'dkms');
    const info = await ok(run('dpkg-deb', ['-I', deb]));
    assert.match(info, /^ +\d+ bytes, +\d+ lines +\* +postinst +#!\/bin\/sh$/m);
    assert.match(info, /^ +\d+ bytes, +\d+ lines +\* +prerm +#!\/bin\/sh$/m);
    const listing = await ok(run('dpkg-deb', ['-c', deb]));
    for (const file of ['Makefile', 'dkms.conf', 'hello.c'])
      assert.match(listing, new RegExp(`root/root .* \\./usr/src/hello-1\\.0/${file}$`, 'm'));
    const postinst = await ok(run('dpkg-deb', ['-I', deb, 'postinst']));
    assert.match(postinst, /dkms add -m "\$NAME" -v "\$VERSION"/);
    assert.match(postinst, /dkms build -m "\$NAME" -v "\$VERSION" -k "\$kernel"/);
    assert.match(postinst, /dkms install -m "\$NAME" -v "\$VERSION" -k "\$kernel"/);
    const prerm = await ok(run('dpkg-deb', ['-I', deb, 'prerm']));
    assert.match(prerm, /dkms remove -m "\$NAME" -v "\$VERSION" --all/);

    const x = join(roots.root, 'mkdeb-x');
    await ok(run('dpkg', ['-x', deb, x]));
    for (const file of ['Makefile', 'dkms.conf', 'hello.c'])
      assert.deepEqual(
        readFileSync(join(x, 'usr/src/hello-1.0', file)),
        readFileSync(join(roots.src, 'hello-1.0', file)),
      );
  });

  it(
    'mkdeb -k: its postinst loads the prebuilt modules and installs them',
    { skip: skipDeb },
    async () => {
      const r = await dkms(roots, ['mkdeb', 'hello/1.0', '-k', K47]);
      assert.equal(r.code, 0, r.stderr);
      const deb = join(debDir(), 'hello-dkms_1.0_amd64.deb');
      assert.match(
        await ok(run('dpkg-deb', ['-c', deb])),
        /\.\/usr\/share\/hello-dkms\/hello-1\.0\.dkms\.tar\.gz$/m,
      );
      // Install the package's files into a fresh sandbox and run its scripts against it.
      const target = makeRoots([K47]);
      try {
        const x = join(target.root, 'pkg');
        await ok(run('dpkg', ['-x', deb, x]));
        await ok(run('dpkg-deb', ['-e', deb, join(x, 'DEBIAN')]));
        const postinst = join(x, 'DEBIAN/postinst');
        writeFileSync(
          postinst,
          readFileSync(postinst, 'utf8').replaceAll("'/usr/share/", `'${x}/usr/share/`),
        );
        const env = dkmsOnPath(target, join(x, 'usr/src'));
        const configured = await run('sh', [postinst, 'configure'], env);
        assert.equal(configured.code, 0, configured.stderr);
        assertTree(target).installed('hello', '1.0', K47);
        assert.deepEqual(
          readFileSync(join(target.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko')),
          readFileSync(ko),
          'the prebuilt module was loaded, not rebuilt',
        );
        const removed = await run('sh', [join(x, 'DEBIAN/prerm'), 'remove'], env);
        assert.equal(removed.code, 0, removed.stderr);
        assert.equal((await run(dkmsBin, ['status', ...target.treeArgs])).stdout, '');
        assertTree(target).noModuleFile(K47, 'updates/dkms/hello.ko');
      } finally {
        target.cleanup();
      }
    },
  );

  it(
    'mkbmdeb: only the built modules, under /lib/modules/<kver>/updates/dkms',
    { skip: skipDeb },
    async () => {
      const r = await dkms(roots, ['mkbmdeb', 'hello/1.0', '-k', K47]);
      assert.equal(r.code, 0, r.stderr);
      const deb = join(debDir(), `hello-modules-${K47}_1.0_amd64.deb`);
      const field = async (name: string): Promise<string> =>
        (await ok(run('dpkg-deb', ['-f', deb, name]))).trim();
      assert.equal(await field('Package'), `hello-modules-${K47}`);
      assert.equal(await field('Architecture'), 'amd64');
      assert.equal(await field('Provides'), 'hello-modules');
      assert.equal(await field('Depends'), '');
      const files = sorted(await ok(run('dpkg-deb', ['-c', deb]))).filter(
        (l) => !l.startsWith('d'),
      );
      assert.equal(files.length, 1, files.join('\n'));
      assert.match(files[0] ?? '', new RegExp(`\\./lib/modules/${K47}/updates/dkms/hello\\.ko$`));
      const x = join(roots.root, 'mkbmdeb-x');
      await ok(run('dpkg', ['-x', deb, x]));
      assert.deepEqual(
        readFileSync(join(x, 'lib/modules', K47, 'updates/dkms/hello.ko')),
        readFileSync(ko),
      );
      assert.match(
        await ok(run('dpkg-deb', ['-I', deb, 'postinst'])),
        /depmod -a '6\.1\.0-47-amd64'/,
      );
    },
  );

  it(
    'mkbmdeb names the kernel that is not built and how to build it',
    { skip: skipDeb },
    async () => {
      const r = await dkms(roots, ['mkbmdeb', 'hello/1.0', '-k', K50]);
      assert.equal(r.code, 6);
      assert.match(r.stderr, /No modules built for 6\.1\.0-50-amd64 \(x86_64\)\./);
      assert.match(r.stderr, /dkms build hello\/1\.0 -k 6\.1\.0-50-amd64\/x86_64/);
      assert.ok(!existsSync(join(debDir(), `hello-modules-${K50}_1.0_amd64.deb`)));
    },
  );

  it(
    'mkdsc: a source package dpkg-source unpacks and dpkg-buildpackage builds',
    { skip: skipDsc },
    async () => {
      const r = await dkms(roots, ['mkdsc', 'hello/1.0']);
      assert.equal(r.code, 0, r.stderr);
      const dir = join(roots.tree, 'hello/1.0/dsc');
      assert.deepEqual(readdirSync(dir).sort(), ['hello-dkms_1.0.dsc', 'hello-dkms_1.0.tar.gz']);
      const dsc = readFileSync(join(dir, 'hello-dkms_1.0.dsc'), 'utf8');
      assert.match(dsc, /^Format: 3\.0 \(native\)$/m);
      assert.match(dsc, /^Source: hello-dkms$/m);
      assert.match(dsc, / hello-dkms_1\.0\.tar\.gz$/m);

      const work = join(roots.root, 'dsc-x');
      mkdirSync(work);
      const unpacked = join(work, 'hello-dkms-1.0');
      await ok(run('dpkg-source', ['-x', join(dir, 'hello-dkms_1.0.dsc'), unpacked]));
      assert.deepEqual(
        readFileSync(join(unpacked, 'hello-1.0/hello.c')),
        readFileSync(join(roots.src, 'hello-1.0/hello.c')),
      );
      assert.match(
        readFileSync(join(unpacked, 'debian/changelog'), 'utf8'),
        /^hello-dkms \(1\.0\) /,
      );
      const built = await run('sh', ['-c', `cd '${unpacked}' && dpkg-buildpackage -b -us -uc`]);
      assert.equal(built.code, 0, built.stdout + built.stderr);
      const deb = join(work, 'hello-dkms_1.0_all.deb');
      assert.match(await ok(run('dpkg-deb', ['-c', deb])), /\.\/usr\/src\/hello-1\.0\/hello\.c$/m);
      assert.match(await ok(run('dpkg-deb', ['-I', deb, 'postinst'])), /dkms add -m "\$NAME"/);
    },
  );

  it(
    'mkrpm: Provides carry modalias() for every modinfo alias; files and scripts',
    { skip: skipRpm },
    async () => {
      const r = await dkms(roots, ['mkrpm', 'hello/1.0']);
      assert.equal(r.code, 0, r.stderr);
      const rpm = join(roots.tree, 'hello/1.0/rpm/hello-dkms-1.0-1.noarch.rpm');
      assert.match(r.stdout, new RegExp(`RPM package: ${rpm}`));
      const aliases = sorted(await ok(run('modinfo', ['-F', 'alias', ko])));
      const provides = sorted(await ok(run('rpm', ['-qp', '--provides', rpm])));
      assert.deepEqual(
        provides.filter((line) => line.startsWith('modalias(')),
        aliases.map((alias) => `modalias(${alias})`).sort(),
      );
      assert.deepEqual(sorted(await ok(run('rpm', ['-qpl', rpm]))), [
        '/usr/src/hello-1.0',
        '/usr/src/hello-1.0/Makefile',
        '/usr/src/hello-1.0/dkms.conf',
        '/usr/src/hello-1.0/hello.c',
      ]);
      assert.equal(
        (await ok(run('rpm', ['-qp', '--qf', '%{LICENSE} %{ARCH}', rpm]))).trim(),
        'GPL noarch',
      );
      const scripts = await ok(run('rpm', ['-qp', '--scripts', rpm]));
      assert.match(scripts, /^postinstall scriptlet[^]*dkms add -m "\$NAME" -v "\$VERSION"/m);
      assert.match(
        scripts,
        /^preuninstall scriptlet[^]*dkms remove -m "\$NAME" -v "\$VERSION" --all/m,
      );
      assert.match(scripts, /printf '%s\\n'/);
    },
  );

  it('mkrpm -k: the prebuilt modules ride along in an arch RPM', { skip: skipRpm }, async () => {
    const r = await dkms(roots, ['mkrpm', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    const rpm = join(roots.tree, `hello/1.0/rpm/hello-dkms-1.0-1.${ARCH}.rpm`);
    assert.match(
      await ok(run('rpm', ['-qpl', rpm])),
      /^\/usr\/share\/hello-dkms\/hello-1\.0\.dkms\.tar\.gz$/m,
    );
    assert.match(
      await ok(run('rpm', ['-qp', '--provides', rpm])),
      /^modalias\(dkms-ts-hello-test\)$/m,
    );
  });

  it('mkkmp and mkdriverdisk say they are not supported', async () => {
    for (const action of ['mkkmp', 'mkdriverdisk']) {
      const r = await dkms(roots, [action, 'hello/1.0', '-k', K47]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${action} is not supported in this version`));
    }
  });

  it('every packaging action has --help', async () => {
    for (const action of [
      'mktarball',
      'ldtarball',
      'mkdeb',
      'mkbmdeb',
      'mkdsc',
      'mkrpm',
      'mkkmp',
      'mkdriverdisk',
    ]) {
      const r = await run(dkmsBin, [action, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^dkms ${action} `));
    }
  });
});
