import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeSerial, parseCertificateText } from '../../src/sign/certificate.js';
import {
  classifyCmsVerify,
  MODULE_SIG_MAGIC,
  splitSignature,
} from '../../src/sign/moduleSignature.js';

/** A module as sign-file leaves it: content, PKCS#7, struct module_signature, magic. */
function signedModule(content: Buffer, signature: Buffer, idType = 2): Buffer {
  const info = Buffer.alloc(12);
  info[2] = idType;
  info.writeUInt32BE(signature.length, 8);
  return Buffer.concat([content, signature, info, MODULE_SIG_MAGIC]);
}

describe('appended module signatures', () => {
  it('splits content from the PKCS#7 signature', () => {
    const split = splitSignature(
      signedModule(Buffer.from('\x7fELF module bytes'), Buffer.from('DER-SIG')),
    );
    assert.equal(split?.content.toString(), '\x7fELF module bytes');
    assert.equal(split?.signature.toString(), 'DER-SIG');
    assert.equal(split?.pkcs7, true);
    assert.equal(splitSignature(signedModule(Buffer.from('x'), Buffer.from('y'), 1))?.pkcs7, false);
  });

  it('finds no signature in an unsigned or truncated module', () => {
    assert.equal(splitSignature(Buffer.from('\x7fELF plain module')), undefined);
    const lying = signedModule(Buffer.from('ab'), Buffer.from('cd'));
    lying.writeUInt32BE(1000, lying.length - MODULE_SIG_MAGIC.length - 4);
    assert.equal(splitSignature(lying), undefined);
  });

  it("classifies openssl cms -verify's verdicts", () => {
    assert.equal(classifyCmsVerify(0, 'CMS Verification successful'), 'valid');
    assert.equal(
      classifyCmsVerify(
        4,
        'CMS Verification failure\n...:CMS_verify:signer certificate not found:...',
      ),
      'other-signer',
    );
    assert.equal(
      classifyCmsVerify(
        4,
        'CMS Verification failure\n...rsa routines:ossl_rsa_verify:bad signature',
      ),
      'invalid',
    );
    assert.equal(classifyCmsVerify(1, 'Error reading S/MIME message'), 'unknown');
  });

  it('reads certificate identities the way modinfo prints sig_key', () => {
    assert.equal(normalizeSerial('00:71:41:BA'), '7141BA');
    assert.equal(normalizeSerial('7141ba'), '7141BA');
    assert.deepEqual(
      parseCertificateText('/c', 'serial=007141BA\nsubject=O=Acme\\, Inc.,CN=Acme signing key\n'),
      {
        path: '/c',
        serial: '7141BA',
        subject: 'O=Acme\\, Inc.,CN=Acme signing key',
        commonName: 'Acme signing key',
      },
    );
  });
});
