import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normalizeSerial, readCertificate } from '../../src/sign/certificate.js';
import { splitSignature, verifySignature } from '../../src/sign/moduleSignature.js';
import { readModuleImage } from '../../src/kernel/moduleImage.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  makeRoots,
  modinfo,
  run,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';

/** The serial of the key that signed a module file (compressed or not), and whether it verifies. */
async function signatureOf(file: string, certificate: string, tmp: string) {
  const image = await readModuleImage(file);
  assert.ok(image.plain, `cannot read ${file}`);
  const signed = splitSignature(image.plain);
  assert.ok(signed, `${file} is not signed`);
  assert.equal(splitSignature(signed.content), undefined, `${file} carries two signatures`);
  return {
    content: signed.content,
    verdict: await verifySignature(signed, certificate, tmp),
  };
}

describe(
  'dkms sign: re-signing installed modules after a key change',
  {
    skip: skipWithoutHeaders,
  },
  () => {
    let roots: Roots;
    const keyA = (): { key: string; cert: string } => ({
      key: join(roots.tree, 'mok.key'),
      cert: join(roots.tree, 'mok.pub'),
    });
    const keyB = (): { key: string; cert: string } => ({
      key: join(roots.root, 'new/mok.key'),
      cert: join(roots.root, 'new/mok.der'),
    });
    const installed = (kernel: string, name: string): string =>
      assertTree(roots).moduleFile(kernel, `updates/dkms/${name}`);
    const built = (module: string, kernel: string, name: string): string =>
      join(roots.tree, module, '1.0', kernel, ARCH, 'module', name);
    let contentBefore: Buffer;

    before(async () => {
      roots = makeRoots([K47, K50]);
      roots.addFixture('hello-1.0');
      roots.addFixture('crlf-1.0');
      // 6.1.0-50's own modules are .ko.xz here: dkms compresses for it
      mkdirSync(join(roots.lib, K50, 'kernel/drivers/misc'), { recursive: true });
      writeFileSync(join(roots.lib, K50, 'kernel/drivers/misc/other.ko.xz'), '');
      for (const module of ['hello/1.0', 'crlf/1.0']) {
        const r = await dkms(roots, ['install', module, '-k', K47, '-k', K50]);
        assert.equal(r.code, 0, r.stderr);
      }
      contentBefore = (await signatureOf(installed(K50, 'hello.ko.xz'), keyA().cert, roots.root))
        .content;
      // the administrator enrolls a new MOK and points framework.conf at it (generate_mok makes
      // no directory: the administrator does)
      mkdirSync(join(roots.root, 'new'));
      writeFileSync(
        join(roots.confDir, 'framework.conf'),
        `mok_signing_key="${keyB().key}"\nmok_certificate="${keyB().cert}"\n`,
      );
      assert.equal((await dkms(roots, ['generate_mok'])).code, 0);
    });
    after(() => roots.cleanup());

    it('needs a module or --all, and says when nothing matches', async () => {
      const none = await dkms(roots, ['sign']);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /dkms sign --all, or dkms sign -m <module>/);
      const nothing = await dkms(roots, ['sign', '-m', 'nosuch']);
      assert.equal(nothing.code, 6);
      assert.match(nothing.stderr, /No installed module matches nosuch: nothing to sign/);
    });

    it('-m -k re-signs one module for one kernel, built and installed copy alike', async () => {
      const r = await dkms(roots, ['sign', '-m', 'hello', '-k', K47]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Re-signed hello/1.0 for ${K47} \\(${ARCH}\\): `, 'm'));
      const file = installed(K47, 'hello.ko');
      assert.equal((await signatureOf(file, keyB().cert, roots.root)).verdict, 'valid');
      assert.deepEqual(readFileSync(file), readFileSync(built('hello', K47, 'hello.ko')));
      // the others still carry the old key
      assert.equal(
        (await signatureOf(installed(K50, 'hello.ko.xz'), keyA().cert, roots.root)).verdict,
        'valid',
      );
      assert.equal(
        (await signatureOf(installed(K47, 'crlf.ko'), keyA().cert, roots.root)).verdict,
        'valid',
      );
    });

    it('--all re-signs everything, keeping compression and the module itself', async () => {
      const r = await dkms(roots, ['sign', '--all']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.match(/^Re-signed /gm)?.length, 4, r.stdout);
      assert.match(r.stdout, /initramfs .* needs it regenerated/);
      const serial = (await readCertificate(keyB().cert))?.serial;
      for (const [kernel, suffix] of [
        [K47, ''],
        [K50, '.xz'],
      ] as const) {
        for (const module of ['hello', 'crlf']) {
          const file = installed(kernel, `${module}.ko${suffix}`);
          const { verdict, content } = await signatureOf(file, keyB().cert, roots.root);
          assert.equal(verdict, 'valid', file);
          assert.deepEqual(
            readFileSync(file),
            readFileSync(built(module, kernel, `${module}.ko${suffix}`)),
          );
          if (module === 'hello' && suffix) assert.deepEqual(content, contentBefore);
          const image = await readModuleImage(file);
          assert.equal(image.format, suffix ? '.xz' : 'elf');
          const copy = join(roots.root, `${module}-${kernel}.ko`);
          writeFileSync(copy, image.plain ?? '');
          assert.equal(normalizeSerial(await modinfo(copy, 'sig_key')), serial);
        }
      }
    });

    it('dkms doctor flags modules signed by a key shim does not have, until dkms sign', async () => {
      // mokutil stand-in: Secure Boot on, only key B enrolled (its listing is openssl's text)
      const listing = join(roots.root, 'enrolled.txt');
      const text = await run('openssl', [
        'x509',
        '-inform',
        'DER',
        '-in',
        keyB().cert,
        '-noout',
        '-text',
      ]);
      writeFileSync(listing, `[key 1]\n${text.stdout}`);
      const mokutil = join(roots.root, 'mokutil');
      writeFileSync(
        mokutil,
        `#!/bin/sh\ncase "$1" in\n--sb-state) echo "SecureBoot enabled";;\n--test-key) echo "$2 is already enrolled";;\n--list-enrolled) cat '${listing}';;\n--list-new) exit 1;;\nesac\n`,
      );
      chmodSync(mokutil, 0o755);
      const findings = async (): Promise<
        { severity: string; kernel: string; module: string; fix?: string }[]
      > => {
        const r = await dkms(roots, ['doctor', '--json'], { DKMS_MOKUTIL: mokutil });
        const doc = JSON.parse(r.stdout) as {
          findings: {
            check: string;
            severity: string;
            kernel: string;
            module: string;
            fix?: string;
          }[];
        };
        return doc.findings.filter((f) => f.check === 'signer-enrolled');
      };
      writeFileSync(
        join(roots.confDir, 'framework.conf'),
        `mok_signing_key="${keyA().key}"\nmok_certificate="${keyA().cert}"\n`,
      );
      assert.equal((await dkms(roots, ['sign', '--all'])).code, 0);
      const old = await findings();
      assert.equal(old.length, 4);
      for (const f of old) {
        assert.equal(f.severity, 'error');
        assert.match(f.fix ?? '', /^mokutil --import .*mok\.pub, reboot/);
      }
      writeFileSync(
        join(roots.confDir, 'framework.conf'),
        `mok_signing_key="${keyB().key}"\nmok_certificate="${keyB().cert}"\n`,
      );
      const configured = await findings();
      assert.deepEqual(
        configured.map((f) => f.fix),
        configured.map(
          (f) =>
            `dkms sign ${f.module}/1.0 -k ${f.kernel} (re-signs with the enrolled key ${keyB().cert})`,
        ),
      );
      assert.equal((await dkms(roots, ['sign', '--all'])).code, 0);
      assert.deepEqual(
        (await findings()).map((f) => f.severity),
        ['ok', 'ok', 'ok', 'ok'],
      );
    });

    it('fails (exit 1) naming the module when sign-file fails, and leaves the files alone', async () => {
      const failing = join(roots.root, 'failing-sign-file');
      writeFileSync(failing, '#!/bin/sh\necho "sign-file: cannot open key" >&2\nexit 1\n');
      chmodSync(failing, 0o755);
      const before = readFileSync(installed(K47, 'hello.ko'));
      writeFileSync(
        join(roots.confDir, 'framework.conf'),
        `sign_file="${failing}"\nmok_signing_key="${keyA().key}"\nmok_certificate="${keyA().cert}"\n`,
      );
      const r = await dkms(roots, ['sign', '-m', 'hello/1.0', '-k', K47]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Could not re-sign hello\/1.0 for 6\.1\.0-47-amd64/);
      assert.deepEqual(readFileSync(installed(K47, 'hello.ko')), before);
    });
  },
);
