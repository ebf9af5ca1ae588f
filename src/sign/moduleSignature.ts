import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../core/exec.js';

/** The marker sign-file appends after the signature (include/linux/module_signature.h). */
export const MODULE_SIG_MAGIC = Buffer.from('~Module signature appended~\n', 'latin1');
/** struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], be32 sig_len. */
const SIG_INFO_SIZE = 12;
const PKEY_ID_PKCS7 = 2;

export interface AppendedSignature {
  /** The module as it was before signing: what the signature covers. */
  content: Buffer;
  /** DER PKCS#7 / CMS SignedData, detached. */
  signature: Buffer;
  pkcs7: boolean;
}

/** Splits an uncompressed module into content and appended signature, or undefined if unsigned. */
export function splitSignature(module: Buffer): AppendedSignature | undefined {
  if (module.length < MODULE_SIG_MAGIC.length + SIG_INFO_SIZE) return undefined;
  if (!module.subarray(module.length - MODULE_SIG_MAGIC.length).equals(MODULE_SIG_MAGIC))
    return undefined;
  const infoStart = module.length - MODULE_SIG_MAGIC.length - SIG_INFO_SIZE;
  const info = module.subarray(infoStart, infoStart + SIG_INFO_SIZE);
  const signatureLength = info.readUInt32BE(8);
  if (signatureLength > infoStart) return undefined;
  return {
    content: module.subarray(0, infoStart - signatureLength),
    signature: module.subarray(infoStart - signatureLength, infoStart),
    pkcs7: info[2] === PKEY_ID_PKCS7,
  };
}

export type SignatureVerdict =
  /** Signed by this certificate and the content is intact. */
  | 'valid'
  /** Made with this certificate's key but the content changed after signing. */
  | 'invalid'
  /** Signed by some other key. */
  | 'other-signer'
  /** openssl could not tell (not PKCS#7, openssl missing...). */
  | 'unknown';

/** Classifies `openssl cms -verify` output. */
export function classifyCmsVerify(exitCode: number, stderr: string): SignatureVerdict {
  if (exitCode === 0) return 'valid';
  if (/signer certificate not found/i.test(stderr)) return 'other-signer';
  if (/verification failure|bad signature|content verify error|digest failure/i.test(stderr))
    return 'invalid';
  return 'unknown';
}

/**
 * Checks a module's appended signature against a certificate with `openssl cms -verify`, the
 * same check the kernel makes against its keyrings (the certificate chain is not checked).
 */
export async function verifySignature(
  signed: AppendedSignature,
  certificate: string,
  tmpLocation: string,
): Promise<SignatureVerdict> {
  if (!signed.pkcs7) return 'unknown';
  const dir = mkdtempSync(join(tmpLocation, 'dkms-sigcheck.'));
  try {
    const content = join(dir, 'content');
    const signature = join(dir, 'signature.p7');
    writeFileSync(content, signed.content);
    writeFileSync(signature, signed.signature);
    const result = await runTool('openssl', [
      'cms',
      '-verify',
      '-binary',
      '-inform',
      'DER',
      '-in',
      signature,
      '-content',
      content,
      '-certfile',
      certificate,
      '-nointern',
      '-noverify',
      '-out',
      '/dev/null',
    ]);
    return result.exitCode === 127 ? 'unknown' : classifyCmsVerify(result.exitCode, result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
