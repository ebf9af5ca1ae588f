import assert from 'node:assert/strict';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { dkms, fixturesDir, makeRoots, run, type Roots } from '../helpers/roots.js';

/** Everything about a directory tree a stray rm -rf, cp or mkdir would change. */
function snapshot(dir: string): string[] {
  const lines: string[] = [];
  const walk = (path: string, rel: string): void => {
    const stat = lstatSync(path);
    const what = stat.isDirectory() ? 'd' : stat.isSymbolicLink() ? 'l' : 'f';
    const content = what === 'f' ? readFileSync(path, 'utf8') : '';
    lines.push(`${what} ${rel} ${stat.mode} ${stat.mtimeMs} ${content}`);
    if (what === 'd')
      for (const name of readdirSync(path).sort()) walk(join(path, name), `${rel}/${name}`);
  };
  walk(dir, '.');
  return lines;
}

/** A hostile value that resolves to `target` from any depth: /.. is / again. */
const escapeTo = (target: string): string => `${'../'.repeat(16)}${target.slice(1)}`;

describe('no name leads outside the trees (sentinel directory untouched)', () => {
  let roots: Roots;
  let sentinel: string;
  let evil: string;
  let untouched: string[];
  /** A fresh sentinel for each case, so one escape does not fail the cases after it. */
  beforeEach(() => {
    rmSync(sentinel, { recursive: true, force: true });
    mkdirSync(join(sentinel, 'victim'), { recursive: true });
    writeFileSync(join(sentinel, 'keep'), 'precious\n');
    writeFileSync(join(sentinel, 'victim', 'keep'), 'precious too\n');
    untouched = snapshot(sentinel);
  });
  before(() => {
    roots = makeRoots([]);
    mkdirSync(join(roots.lib, '6.1.0-47-amd64'), { recursive: true });
    roots.addFixture('hello-1.0');
    sentinel = mkdtempSync(join(tmpdir(), 'dkms-sentinel.'));
    evil = escapeTo(join(sentinel, 'victim'));
  });
  after(() => {
    roots.cleanup();
    rmSync(sentinel, { recursive: true, force: true });
  });

  /** A module source directory (outside the source tree) whose dkms.conf sets `values`. */
  const confDir = (name: string, values: Record<string, string>): string => {
    const dir = join(roots.root, 'incoming', name);
    cpSync(join(fixturesDir, 'hello-1.0'), dir, { recursive: true });
    const conf = {
      PACKAGE_NAME: 'hello',
      PACKAGE_VERSION: '9.9',
      'DEST_MODULE_LOCATION[0]': '/updates/dkms',
      ...values,
    };
    writeFileSync(
      join(dir, 'dkms.conf'),
      Object.entries(conf)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}\n`)
        .join(''),
    );
    return dir;
  };

  const tarballOf = async (name: string, values: Record<string, string>): Promise<string> => {
    const dir = confDir(name, values);
    const archive = join(roots.root, `${name}.tar.gz`);
    const r = await run('tar', ['-C', dir, '-czf', archive, '.']);
    assert.equal(r.code, 0, r.stderr);
    return archive;
  };

  const confFields: [string, (evil: string) => Record<string, string>][] = [
    ['PACKAGE_NAME', (v) => ({ PACKAGE_NAME: v })],
    ['PACKAGE_VERSION', (v) => ({ PACKAGE_VERSION: v })],
    ['BUILT_MODULE_NAME', (v) => ({ 'BUILT_MODULE_NAME[0]': v })],
    ['BUILT_MODULE_LOCATION', (v) => ({ 'BUILT_MODULE_LOCATION[0]': v })],
    ['DEST_MODULE_NAME', (v) => ({ 'DEST_MODULE_NAME[0]': v })],
    ['DEST_MODULE_LOCATION', (v) => ({ 'DEST_MODULE_LOCATION[0]': `/updates/${v}` })],
    ['PATCH', (v) => ({ 'PATCH[0]': v })],
  ];

  for (const [field, values] of confFields) {
    for (const force of [false, true]) {
      const flags = force ? ['--force'] : [];
      it(`dkms add <dir> ${flags.join(' ')} refuses ${field}="${'../'.repeat(2)}..."`, async () => {
        const dir = confDir(`${field}-${String(force)}`, values(evil));
        const r = await dkms(roots, ['add', dir, ...flags]);
        assert.notEqual(r.code, 0, r.stdout);
        assert.deepEqual(snapshot(sentinel), untouched);
      });
      it(`dkms ldtarball ${flags.join(' ')} refuses ${field} from a tarball`, async () => {
        const archive = await tarballOf(`tar-${field}-${String(force)}`, values(evil));
        const r = await dkms(roots, ['ldtarball', archive, ...flags]);
        assert.notEqual(r.code, 0, r.stdout);
        assert.deepEqual(snapshot(sentinel), untouched);
      });
    }
    it(`build/install of an added module refuses ${field} from its dkms.conf`, async () => {
      const dir = join(roots.src, `hello-${field}`);
      cpSync(confDir(`src-${field}`, values(evil)), dir, { recursive: true });
      writeFileSync(
        join(dir, 'dkms.conf'),
        field === 'PACKAGE_VERSION'
          ? readFileSync(join(dir, 'dkms.conf'), 'utf8')
          : readFileSync(join(dir, 'dkms.conf'), 'utf8').replace(
              /^PACKAGE_VERSION=.*$/m,
              `PACKAGE_VERSION="${field}"`,
            ),
      );
      for (const action of ['add', 'build', 'install']) {
        const r = await dkms(roots, [action, `hello/${field}`, '-k', '6.1.0-47-amd64', '--force']);
        assert.notEqual(r.code, 0, `${action}: ${r.stdout}`);
        assert.deepEqual(snapshot(sentinel), untouched);
      }
    });
  }

  const commandLines: [string, (evil: string) => string[]][] = [
    ['-v for add', (v) => ['add', '-m', 'hello', '-v', v]],
    ['-v for build --force', (v) => ['build', '-m', 'hello', '-v', v, '--force']],
    ['-v for remove --all', (v) => ['remove', '-m', 'hello', '-v', v, '--all']],
    ['-v for unbuild', (v) => ['unbuild', '-m', 'hello', '-v', v, '-k', '6.1.0-47-amd64']],
    ['-m for uninstall', (v) => ['uninstall', '-m', `..`, '-v', v]],
    ['-k for build', (v) => ['build', 'hello/1.0', '-k', v, '--force']],
    ['-k for install', (v) => ['install', 'hello/1.0', '-k', v, '--force']],
    ['-k for unbuild', (v) => ['unbuild', 'hello/1.0', '-k', v]],
    ['-a for build', (v) => ['build', 'hello/1.0', '-k', '6.1.0-47-amd64', '-a', v]],
    ['-a for remove', (v) => ['remove', 'hello/1.0', '-k', '6.1.0-47-amd64', '-a', v]],
    ['-k kernel/arch for install', (v) => ['install', 'hello/1.0', '-k', `6.1.0-47-amd64/${v}`]],
    [
      '--templatekernel for match',
      (v) => ['match', `--templatekernel=${v}`, '-k', '6.1.0-47-amd64'],
    ],
    ['-k for kernel_prerm', (v) => ['kernel_prerm', '-k', v]],
    ['-k for autoinstall', (v) => ['autoinstall', '-k', v]],
    ['-k for mktarball', (v) => ['mktarball', 'hello/1.0', '-k', v]],
  ];
  for (const [what, argv] of commandLines) {
    it(`refuses a hostile ${what}`, async () => {
      await dkms(roots, ['add', 'hello/1.0']);
      const r = await dkms(roots, argv(evil));
      assert.notEqual(r.code, 0, r.stdout);
      assert.deepEqual(snapshot(sentinel), untouched);
    });
  }
});

describe('real names pass the same rules', () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([]);
  });
  after(() => roots.cleanup());

  const names: [string, string][] = [
    ['nvidia-current', '1.0~rc1+git20240101'],
    ['zfs', '2.1.11-1'],
    ['v4l2loopback', '0.12.7'],
    ['r8168', '8.051.02_Debian'],
  ];
  for (const [module, version] of names) {
    it(`adds ${module}/${version} from a directory`, async () => {
      const dir = join(roots.root, 'incoming', `${module}-${version}`);
      cpSync(join(fixturesDir, 'hello-1.0'), dir, { recursive: true });
      writeFileSync(
        join(dir, 'dkms.conf'),
        `PACKAGE_NAME="${module}"\nPACKAGE_VERSION="${version}"\nBUILT_MODULE_NAME[0]=hello\nDEST_MODULE_LOCATION[0]=/updates/dkms\n`,
      );
      const r = await dkms(roots, ['add', dir]);
      assert.equal(r.code, 0, r.stderr);
      const status = await dkms(roots, ['status', `${module}/${version}`]);
      assert.match(
        status.stdout,
        new RegExp(`${module}/${version.replace(/[+.~]/g, '\\$&')}: added`),
      );
    });
  }

  for (const kernel of ['6.1.0-47-amd64', '6.12.0-0.rc3.fc42.x86_64+debug', '6.8.0-1008-raspi']) {
    it(`takes -k ${kernel} as a kernel release (fails for the missing headers, not the name)`, async () => {
      const r = await dkms(roots, ['build', 'zfs/2.1.11-1', '-k', kernel]);
      assert.equal(r.code, 21, r.stderr);
    });
  }
});
