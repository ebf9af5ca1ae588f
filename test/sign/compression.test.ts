import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  chooseCompression,
  compressCommand,
  DEFAULT_COMPRESS_OPTS,
} from '../../src/engine/moduleFile.js';
import { splitSignature } from '../../src/sign/moduleSignature.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  headersDir,
  makeRoots,
  run,
  type Roots,
  skipWithoutHeaders,
  modinfo,
} from '../helpers/roots.js';

const skip = skipWithoutHeaders;

describe('choosing the compression', () => {
  it('follows the kernel tree first (.zst over .xz over .gz), then plain in-tree modules, then the config', () => {
    const config = (): '.xz' => '.xz';
    assert.equal(
      chooseCompression({ compressed: new Set(['.gz', '.zst']), plainKernelModule: false }, config),
      '.zst',
    );
    assert.equal(
      chooseCompression({ compressed: new Set(['.gz']), plainKernelModule: true }, config),
      '.gz',
    );
    assert.equal(chooseCompression({ compressed: new Set(), plainKernelModule: true }, config), '');
    assert.equal(
      chooseCompression({ compressed: new Set(), plainKernelModule: false }, config),
      '.xz',
    );
  });

  it("uses dkms 3.4's default options unless framework.conf sets its own", () => {
    assert.deepEqual(compressCommand('.xz', {}, '/m/a.ko'), {
      tool: 'xz',
      args: ['--check=crc32', '--lzma2=dict=1MiB', '-f', '/m/a.ko'],
    });
    assert.deepEqual(compressCommand('.zst', {}, '/m/a.ko'), {
      tool: 'zstd',
      args: ['-q', '--rm', '-T0', '-f', '/m/a.ko'],
    });
    assert.deepEqual(compressCommand('.gz', {}, '/m/a.ko').args, [
      DEFAULT_COMPRESS_OPTS['.gz'],
      '-f',
      '/m/a.ko',
    ]);
    assert.deepEqual(compressCommand('.zst', { compress_zstd_opts: ' -q  -19 ' }, '/m/a.ko').args, [
      '-q',
      '-19',
      '-f',
      '/m/a.ko',
    ]);
    assert.deepEqual(compressCommand('.gz', { compress_gzip_opts: '' }, '/m/a.ko').args, [
      '-f',
      '/m/a.ko',
    ]);
  });
});

describe('modules compressed like the kernel (real xz, zstd, gzip)', { skip }, () => {
  let roots: Roots;
  beforeEach(() => {
    roots = makeRoots([K47, K50]);
    roots.addFixture('hello-1.0');
  });
  afterEach(() => roots.cleanup());

  /** A copy of the kernel's config saying its modules are compressed with `kind`. */
  const configWith = (kind: 'XZ' | 'ZSTD' | 'GZIP'): string => {
    const file = join(roots.root, `config-${kind}`);
    const config = readFileSync(join(headersDir(K47), '.config'), 'utf8')
      .replace(/^CONFIG_MODULE_COMPRESS_NONE=y$/m, '# CONFIG_MODULE_COMPRESS_NONE is not set')
      .replace(
        new RegExp(`^# CONFIG_MODULE_COMPRESS_${kind} is not set$`, 'm'),
        `CONFIG_MODULE_COMPRESS_${kind}=y`,
      );
    writeFileSync(file, config);
    return file;
  };

  it('makes .ko.xz for a kernel configured for xz: signed first, crc32, readable by modinfo', async () => {
    const r = await dkms(roots, [
      'install',
      'hello/1.0',
      '-k',
      K47,
      `--config=${configWith('XZ')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const t = assertTree(roots);
    const stored = join(roots.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko.xz');
    const installed = t.moduleFile(K47, 'updates/dkms/hello.ko.xz');
    t.noModuleFile(K47, 'updates/dkms/hello.ko');
    assert.deepEqual(readFileSync(installed), readFileSync(stored));
    assert.match(await modinfo(installed, 'vermagic'), /^6\.1\.0-47-amd64 /);
    assert.equal(
      await modinfo(installed, 'signer'),
      'DKMS module signing key',
      'signed before compression',
    );
    assert.match((await run('xz', ['--robot', '--list', installed])).stdout, /^file\t.*\tCRC32\t/m);
    assert.match(
      readFileSync(join(roots.lib, K47, 'modules.dep'), 'utf8'),
      /^updates\/dkms\/hello\.ko\.xz:/m,
    );
    assert.equal((await dkms(roots, ['status'])).stdout, `hello/1.0, ${K47}, ${ARCH}: installed\n`);
  });

  it("makes .ko.zst when the kernel's own modules are .ko.zst", async () => {
    const inTree = join(roots.lib, K50, 'kernel/drivers/misc');
    mkdirSync(inTree, { recursive: true });
    writeFileSync(join(inTree, 'other.ko.zst'), '');
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    const installed = assertTree(roots).moduleFile(K50, 'updates/dkms/hello.ko.zst');
    assert.match(await modinfo(installed, 'vermagic'), /^6\.1\.0-50-amd64 /);
    assert.equal(await modinfo(installed, 'signer'), 'DKMS module signing key');
    assert.equal((await run('zstd', ['-t', '-q', installed])).code, 0);
  });

  it('makes .ko.gz for gzip, and honours compress_xz_opts from framework.conf', async () => {
    const gz = await dkms(roots, [
      'install',
      'hello/1.0',
      '-k',
      K47,
      `--config=${configWith('GZIP')}`,
    ]);
    assert.equal(gz.code, 0, gz.stderr);
    const plain = gunzipSync(
      readFileSync(assertTree(roots).moduleFile(K47, 'updates/dkms/hello.ko.gz')),
    );
    assert.ok(splitSignature(plain), 'the gzipped module carries its signature');
    // modinfo here is built without zlib (kmod -ZLIB), so read the uncompressed copy
    const copy = join(roots.root, 'hello-from-gz.ko');
    writeFileSync(copy, plain);
    assert.match(await modinfo(copy, 'vermagic'), /^6\.1\.0-47-amd64 /);

    writeFileSync(join(roots.confDir, 'framework.conf'), 'compress_xz_opts="--check=crc64"\n');
    const xz = await dkms(roots, [
      'install',
      'hello/1.0',
      '-k',
      K50,
      `--config=${configWith('XZ')}`,
    ]);
    assert.equal(xz.code, 0, xz.stderr);
    const installed = assertTree(roots).moduleFile(K50, 'updates/dkms/hello.ko.xz');
    assert.match((await run('xz', ['--robot', '--list', installed])).stdout, /^file\t.*\tCRC64\t/m);
  });
});
