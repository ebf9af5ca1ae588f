import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import { MemoryReporter } from '../../src/core/host.js';
import { readCertificate } from '../../src/sign/certificate.js';
import { ensureMok } from '../../src/sign/mok.js';
import { K47, K50, dkms, makeRoots, run, type Roots } from '../helpers/roots.js';

const openssl = async (...args: string[]): Promise<string> => {
  const r = await run('openssl', args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};
/** The public key of a certificate and of a private key, to prove they are a pair. */
const certPublicKey = (cert: string): Promise<string> =>
  openssl('x509', '-in', cert, '-noout', '-pubkey');
const keyPublicKey = (key: string): Promise<string> => openssl('pkey', '-in', key, '-pubout');

describe('MOK key pair generation (real openssl)', () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([]);
  });
  after(() => roots.cleanup());

  /** A key pair location in a directory that exists (dkms never creates one). */
  const pairIn = (name: string): { key: string; certificate: string } => {
    mkdirSync(join(roots.root, name));
    return {
      key: join(roots.root, name, 'mok.key'),
      certificate: join(roots.root, name, 'mok.pub'),
    };
  };
  const signFailed = (pattern: RegExp) => (e: unknown) =>
    e instanceof DkmsError && e.code === 'SIGN_FAILED' && pattern.test(e.message);

  it('makes an RSA 2048 key and a DER x509 code-signing certificate, as upstream', async () => {
    const mok = pairIn('keys');
    const reporter = new MemoryReporter();
    assert.equal(await ensureMok(mok, reporter), 'generated');
    assert.match(reporter.text(), /generating self signed certificate for MOK/);
    assert.equal(statSync(mok.key).mode & 0o777, 0o600);
    assert.equal(readFileSync(mok.certificate)[0], 0x30, 'DER, not PEM');
    const text = await openssl('x509', '-inform', 'DER', '-in', mok.certificate, '-noout', '-text');
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /Extended Key Usage:\s*\n\s*Code Signing/);
    assert.match(text, /Subject: CN ?= ?DKMS module signing key/);
    assert.equal(await certPublicKey(mok.certificate), await keyPublicKey(mok.key));
    assert.equal((await readCertificate(mok.certificate))?.commonName, 'DKMS module signing key');
    assert.deepEqual(readdirSync(join(roots.root, 'keys')).sort(), ['mok.key', 'mok.pub']);

    const before = readFileSync(mok.key);
    assert.equal(await ensureMok(mok, reporter), 'present');
    assert.deepEqual(readFileSync(mok.key), before);
  });

  it('never replaces a key whose certificate is missing, nor a certificate whose key is', async () => {
    const mok = pairIn('k2');
    await ensureMok(mok, new MemoryReporter());
    const key = readFileSync(mok.key);
    const certificate = readFileSync(mok.certificate);
    rmSync(mok.certificate);
    await assert.rejects(
      ensureMok(mok, new MemoryReporter()),
      signFailed(
        /^Certificate file .*mok\.pub not found and can't be generated, modules won't be signed$/,
      ),
    );
    assert.deepEqual(readFileSync(mok.key), key);
    assert.equal(existsSync(mok.certificate), false);

    writeFileSync(mok.certificate, certificate);
    rmSync(mok.key);
    await assert.rejects(
      ensureMok(mok, new MemoryReporter()),
      signFailed(/^Key file .*mok\.key not found and can't be generated, modules won't be signed$/),
    );
    assert.deepEqual(readFileSync(mok.certificate), certificate);
    assert.equal(existsSync(mok.key), false);
    assert.deepEqual(readdirSync(join(roots.root, 'k2')), ['mok.pub']);
  });

  it('creates no directory', async () => {
    const mok = {
      key: join(roots.root, 'absent', 'mok.key'),
      certificate: join(roots.root, 'absent2', 'mok.pub'),
    };
    await assert.rejects(
      ensureMok(mok, new MemoryReporter()),
      signFailed(/modules won't be signed/),
    );
    assert.equal(existsSync(join(roots.root, 'absent')), false);
    assert.equal(existsSync(join(roots.root, 'absent2')), false);
  });

  it('does not link over a certificate that appears while openssl runs', async () => {
    const mok = pairIn('k4');
    const bin = join(roots.root, 'fake-bin');
    mkdirSync(bin);
    // The fault: someone else's certificate shows up between our check and our link.
    writeFileSync(
      join(bin, 'openssl'),
      `#!/bin/sh\nprintf theirs > ${JSON.stringify(mok.certificate)}\nexec /usr/bin/openssl "$@"\n`,
      { mode: 0o755 },
    );
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    try {
      await assert.rejects(ensureMok(mok, new MemoryReporter()), signFailed(/won't be signed/));
    } finally {
      process.env['PATH'] = path;
    }
    assert.equal(readFileSync(mok.certificate, 'utf8'), 'theirs');
    assert.deepEqual(readdirSync(join(roots.root, 'k4')), ['mok.pub'], 'our key is taken back');
  });

  it('generates one pair when two builds ask at once', async () => {
    const mok = pairIn('k3');
    const outcomes = await Promise.all([
      ensureMok(mok, new MemoryReporter()),
      ensureMok(mok, new MemoryReporter()),
    ]);
    assert.deepEqual(outcomes.sort(), ['generated', 'present']);
    assert.equal(await certPublicKey(mok.certificate), await keyPublicKey(mok.key));
  });
});

describe('dkms generate_mok', () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([]);
  });
  after(() => roots.cleanup());

  it('creates DKMS_TREE/mok.key and mok.pub by default, and only once', async () => {
    const first = await dkms(roots, ['generate_mok']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^Signing key: ${join(roots.tree, 'mok.key')}$`, 'm'));
    assert.match(
      first.stdout,
      new RegExp(`^Public certificate \\(MOK\\): ${join(roots.tree, 'mok.pub')}$`, 'm'),
    );
    assert.match(first.stdout, /generating self signed certificate/);
    const second = await dkms(roots, ['generate_mok']);
    assert.equal(second.code, 0);
    assert.doesNotMatch(second.stdout, /generating/);
  });

  it('follows framework.conf, with $kernelver taken from -k', async () => {
    writeFileSync(
      join(roots.confDir, 'framework.conf'),
      `mok_signing_key="${roots.root}/keys/$kernelver/signing.key"\nmok_certificate="${roots.root}/keys/$kernelver/signing.der"\n`,
    );
    mkdirSync(join(roots.root, 'keys', K50), { recursive: true });
    const r = await dkms(roots, ['generate_mok', '-k', K50]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(roots.root, 'keys', K50, 'signing.key')));
    assert.ok(existsSync(join(roots.root, 'keys', K50, 'signing.der')));
    assert.ok(!existsSync(join(roots.root, 'keys', K47)));
    rmSync(join(roots.confDir, 'framework.conf'));
  });

  it('keeps an existing mok.pub whose key is missing, says so on stdout and exits 1', async () => {
    rmSync(join(roots.tree, 'mok.key'), { force: true });
    writeFileSync(join(roots.tree, 'mok.pub'), 'enrolled');
    const r = await dkms(roots, ['generate_mok']);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `^Key file ${join(roots.tree, 'mok.key')} not found and can't be generated, modules won't be signed$`,
        'm',
      ),
    );
    assert.match(r.stderr, /mok\.pub is kept/);
    assert.equal(readFileSync(join(roots.tree, 'mok.pub'), 'utf8'), 'enrolled');
    assert.equal(existsSync(join(roots.tree, 'mok.key')), false);
    rmSync(join(roots.tree, 'mok.pub'));
  });

  it('fails with exit 1 when the key cannot be written', async () => {
    writeFileSync(join(roots.root, 'not-a-dir'), '');
    writeFileSync(
      join(roots.confDir, 'framework.conf'),
      `mok_signing_key="${roots.root}/not-a-dir/x.key"\nmok_certificate="${roots.root}/not-a-dir/x.der"\n`,
    );
    const r = await dkms(roots, ['generate_mok']);
    assert.equal(r.code, 1);
    rmSync(join(roots.confDir, 'framework.conf'));
  });
});
