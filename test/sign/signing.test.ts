import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { readCertificate, normalizeSerial } from '../../src/sign/certificate.js';
import { splitSignature, verifySignature } from '../../src/sign/moduleSignature.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  K47,
  K50,
  dkms,
  headersDir,
  makeRoots,
  type Roots,
  skipWithoutHeaders,
  modinfo,
} from '../helpers/roots.js';

const skip = skipWithoutHeaders;

/** A mokutil stand-in (there is no EFI here): Secure Boot on, nothing enrolled. */
function fakeMokutil(roots: Roots): string {
  const path = join(roots.root, 'mokutil');
  writeFileSync(
    path,
    `#!/bin/sh\ncase "$1" in --sb-state) echo "SecureBoot enabled";; --test-key) echo "$2 is not enrolled";; esac\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('module signing with the real sign-file', { skip }, () => {
  let roots: Roots;
  beforeEach(() => {
    roots = makeRoots([K47, K50]);
    roots.addFixture('hello-1.0');
  });
  afterEach(() => roots.cleanup());

  it('generates the key pair, signs before storing, and modinfo shows our signer', async () => {
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '-k', K50], {
      DKMS_MOKUTIL: fakeMokutil(roots),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Sign command: \/usr\/lib\/linux-kbuild-6\.1\/scripts\/sign-file$/m);
    assert.match(r.stdout, new RegExp(`^Signing key: ${join(roots.tree, 'mok.key')}$`, 'm'));
    assert.equal(
      r.stdout.match(/generating self signed certificate/g)?.length,
      1,
      'one key for both kernels',
    );
    const cert = await readCertificate(join(roots.tree, 'mok.pub'));
    assert.ok(cert);
    for (const kernel of [K47, K50]) {
      const ko = assertTree(roots).moduleFile(kernel, 'updates/dkms/hello.ko');
      assert.equal(await modinfo(ko, 'signer'), 'DKMS module signing key');
      assert.equal(normalizeSerial(await modinfo(ko, 'sig_key')), cert.serial);
      assert.equal(await modinfo(ko, 'sig_hashalgo'), 'sha256');
      const signed = splitSignature(readFileSync(ko));
      assert.ok(signed);
      assert.equal(await verifySignature(signed, cert.path, roots.root), 'valid');
    }
    // Secure Boot on and the certificate not enrolled: one loud warning for the whole run.
    const warnings = r.stderr.match(/mokutil --import \S+/g) ?? [];
    assert.deepEqual(warnings, [`mokutil --import ${join(roots.tree, 'mok.pub')}`]);
    assert.match(r.stderr, /Key was rejected by service/);
  });

  it('takes sign_file and per-kernel keys ($kernelver) from framework.conf', async () => {
    mkdirSync(join(roots.root, 'keys'));
    writeFileSync(
      join(roots.confDir, 'framework.conf'),
      [
        `sign_file="${headersDir('$kernelver')}/scripts/sign-file"`,
        `mok_signing_key="${roots.root}/keys/$kernelver.key"`,
        `mok_certificate="${roots.root}/keys/$kernelver.der"`,
        '',
      ].join('\n'),
    );
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47, '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Sign command: ${headersDir(K50)}/scripts/sign-file$`, 'm'));
    const serials = new Set<string>();
    for (const kernel of [K47, K50]) {
      const cert = await readCertificate(join(roots.root, 'keys', `${kernel}.der`));
      assert.ok(cert, `no certificate for ${kernel}`);
      const ko = assertTree(roots).moduleFile(kernel, 'updates/dkms/hello.ko');
      assert.equal(normalizeSerial(await modinfo(ko, 'sig_key')), cert.serial);
      serials.add(cert.serial);
    }
    assert.equal(serials.size, 2, 'one key per kernel');
  });

  it('builds unsigned, saying why, when sign-file is missing or fails', async () => {
    writeFileSync(
      join(roots.confDir, 'framework.conf'),
      `sign_file="${roots.root}/no-sign-file"\n`,
    );
    const missing = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
    assert.equal(missing.code, 0, missing.stderr);
    assert.match(
      missing.stdout,
      new RegExp(`Binary ${roots.root}/no-sign-file not found, modules won't be signed`),
    );
    assert.equal(
      await modinfo(assertTree(roots).moduleFile(K47, 'updates/dkms/hello.ko'), 'signer'),
      '',
    );

    const failing = join(roots.root, 'failing-sign-file');
    writeFileSync(failing, '#!/bin/sh\necho "sign-file: cannot open key" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    writeFileSync(join(roots.confDir, 'framework.conf'), `sign_file="${failing}"\n`);
    const failed = await dkms(roots, ['install', 'hello/1.0', '-k', K50]);
    assert.equal(failed.code, 0, 'a signing failure is a warning, as upstream');
    assert.match(failed.stderr, /Failed to sign module '.*hello\.ko'!\nsign-file: cannot open key/);
    assert.equal(
      await modinfo(assertTree(roots).moduleFile(K50, 'updates/dkms/hello.ko'), 'signer'),
      '',
    );
  });

  it('builds unsigned and keeps an enrolled mok.pub whose key is gone, or a key alone', async () => {
    const enrolled = Buffer.from('an enrolled certificate, not ours to replace');
    writeFileSync(join(roots.tree, 'mok.pub'), enrolled);
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^Key file ${join(roots.tree, 'mok.key')} not found and can't be generated, modules won't be signed$`,
        'm',
      ),
    );
    assert.deepEqual(readFileSync(join(roots.tree, 'mok.pub')), enrolled);
    assert.equal(existsSync(join(roots.tree, 'mok.key')), false);
    const ko = assertTree(roots).moduleFile(K47, 'updates/dkms/hello.ko');
    assert.equal(await modinfo(ko, 'signer'), '');

    rmSync(join(roots.tree, 'mok.pub'));
    writeFileSync(join(roots.tree, 'mok.key'), 'a key whose certificate was enrolled');
    const keyOnly = await dkms(roots, ['install', 'hello/1.0', '-k', K50]);
    assert.equal(keyOnly.code, 0, keyOnly.stderr);
    assert.match(
      keyOnly.stdout,
      /^Certificate file .*mok\.pub not found and can't be generated, modules won't be signed$/m,
    );
    assert.equal(
      readFileSync(join(roots.tree, 'mok.key'), 'utf8'),
      'a key whose certificate was enrolled',
    );
    assert.equal(existsSync(join(roots.tree, 'mok.pub')), false);
  });

  it('does not sign for a kernel built without CONFIG_MODULE_SIG_HASH', async () => {
    const config = join(roots.root, 'nosig.config');
    writeFileSync(
      config,
      readFileSync(join(headersDir(K47), '.config'), 'utf8').replace(
        /^CONFIG_MODULE_SIG_HASH=.*$/m,
        '',
      ),
    );
    const r = await dkms(roots, ['install', 'hello/1.0', '-k', K47, `--config=${config}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /The kernel is built without module signing facility, modules won't be signed/,
    );
    assert.equal(
      await modinfo(assertTree(roots).moduleFile(K47, 'updates/dkms/hello.ko'), 'signer'),
      '',
    );
  });
});
