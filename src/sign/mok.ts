import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DkmsError } from '../core/errors.js';
import type { Reporter } from '../core/host.js';
import { runTool } from '../core/exec.js';
import { withModuleLock } from '../core/lock.js';
import { isFile } from './signingInputs.js';
import { isPkcs11, type MokPaths } from './signingPlan.js';

/** The subject upstream gives the key it generates. */
export const MOK_SUBJECT = '/CN=DKMS module signing key';

/** openssl arguments for a self-signed code-signing certificate, as dkms 3.4 makes it (100 years). */
export function mokRequestArgs(
  key: { generate: true; out: string } | { generate: false; path: string },
  certificateOut: string,
): string[] {
  const keyArgs = key.generate
    ? ['-nodes', '-newkey', 'rsa:2048', '-keyout', key.out]
    : ['-key', key.path];
  return [
    'req',
    '-new',
    '-x509',
    '-days',
    '36500',
    '-subj',
    MOK_SUBJECT,
    ...keyArgs,
    '-addext',
    'extendedKeyUsage=codeSigning',
    '-outform',
    'DER',
    '-out',
    certificateOut,
  ];
}

export type MokOutcome = 'present' | 'generated' | 'certificate-generated';

/**
 * Makes sure the key pair exists, generating it with openssl when missing. Both files are
 * written under temporary names and renamed into place, under a lock, so concurrent builds
 * never sign with two different keys or read a half-written one. An existing key is kept
 * (only its certificate is made) rather than replaced as upstream does.
 */
export async function ensureMok(mok: MokPaths, reporter: Reporter): Promise<MokOutcome> {
  if (isPkcs11(mok.key) ? isFile(mok.certificate) : isFile(mok.key) && isFile(mok.certificate))
    return 'present';
  if (isPkcs11(mok.key)) {
    throw new DkmsError(
      'SIGN_FAILED',
      `Certificate file ${mok.certificate} not found and can't be generated for a PKCS#11 key, modules won't be signed`,
    );
  }
  return withModuleLock(dirname(mok.key), `mok-${basename(mok.key)}`, async () => {
    const keyExists = isFile(mok.key);
    if (keyExists && isFile(mok.certificate)) return 'present';
    reporter.info('Certificate or key are missing, generating self signed certificate for MOK...');
    mkdirSync(dirname(mok.key), { recursive: true });
    mkdirSync(dirname(mok.certificate), { recursive: true });
    const tmpKey = `${mok.key}.dkms-${process.pid}.tmp`;
    const tmpCertificate = `${mok.certificate}.dkms-${process.pid}.tmp`;
    const args = mokRequestArgs(
      keyExists ? { generate: false, path: mok.key } : { generate: true, out: tmpKey },
      tmpCertificate,
    );
    try {
      const result = await runTool('openssl', args);
      if (result.exitCode !== 0 || !isFile(tmpCertificate) || (!keyExists && !isFile(tmpKey))) {
        const why =
          result.exitCode === 127
            ? "openssl not found, can't generate key and certificate."
            : result.stderr.trim().split('\n').slice(-3).join('\n');
        throw new DkmsError(
          'SIGN_FAILED',
          `Key file ${mok.key} not found and can't be generated, modules won't be signed\n${why}`,
          {
            hint: 'Install openssl, or set mok_signing_key and mok_certificate in framework.conf.',
          },
        );
      }
      if (!keyExists) {
        chmodSync(tmpKey, 0o600);
        renameSync(tmpKey, mok.key);
      }
      chmodSync(tmpCertificate, 0o644);
      renameSync(tmpCertificate, mok.certificate);
      return keyExists ? 'certificate-generated' : 'generated';
    } finally {
      rmSync(tmpKey, { force: true });
      rmSync(tmpCertificate, { force: true });
    }
  });
}
