import { chmodSync, linkSync, lstatSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DkmsError, isDkmsError } from '../core/errors.js';
import type { Reporter } from '../core/host.js';
import { runTool } from '../core/exec.js';
import { withModuleLock } from '../core/lock.js';
import { isFile } from './signingInputs.js';
import { isPkcs11, type MokPaths } from './signingPlan.js';

/** The subject upstream gives the key it generates. */
export const MOK_SUBJECT = '/CN=DKMS module signing key';

/** openssl arguments for a self-signed code-signing certificate, as dkms 3.4 makes it (100 years). */
export function mokRequestArgs(keyOut: string, certificateOut: string): string[] {
  return [
    'req',
    '-new',
    '-x509',
    '-nodes',
    '-days',
    '36500',
    '-subj',
    MOK_SUBJECT,
    '-newkey',
    'rsa:2048',
    '-keyout',
    keyOut,
    '-addext',
    'extendedKeyUsage=codeSigning',
    '-outform',
    'DER',
    '-out',
    certificateOut,
  ];
}

export type MokOutcome = 'present' | 'generated';

/** Whether anything (a file, a directory, a dangling link) is at `path`: never replaced. */
function occupied(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** dkms 3.4's messages when the pair cannot be had; the build then goes on unsigned. */
const keyMissing = (mok: MokPaths, hint: string, cause?: unknown): DkmsError =>
  new DkmsError(
    'SIGN_FAILED',
    `Key file ${mok.key} not found and can't be generated, modules won't be signed`,
    { hint, cause },
  );
const certificateMissing = (mok: MokPaths, hint: string): DkmsError =>
  new DkmsError(
    'SIGN_FAILED',
    `Certificate file ${mok.certificate} not found and can't be generated, modules won't be signed`,
    { hint },
  );

/** Puts `temp` at `path` unless something is there already (link(2) fails with EEXIST). */
function placeNew(temp: string, path: string): void {
  linkSync(temp, path);
}

/**
 * Makes sure the key pair exists, generating it with openssl only where both files are
 * absent: an existing key or certificate is never replaced (it may be the one enrolled in the
 * firmware), no directory is created, and both files are written under temporary names and
 * linked into place under a lock, so concurrent builds never sign with two different keys.
 * Otherwise it throws SIGN_FAILED with upstream's "modules won't be signed" message.
 */
export async function ensureMok(mok: MokPaths, reporter: Reporter): Promise<MokOutcome> {
  if (isPkcs11(mok.key)) {
    if (isFile(mok.certificate)) return 'present';
    throw certificateMissing(mok, 'A certificate cannot be generated for a PKCS#11 key.');
  }
  if (isFile(mok.key) && isFile(mok.certificate)) return 'present';
  return withModuleLock(dirname(mok.key), `mok-${basename(mok.key)}`, async () => {
    if (isFile(mok.key) && isFile(mok.certificate)) return 'present';
    reporter.info('Certificate or key are missing, generating self signed certificate for MOK...');
    if (occupied(mok.key) && !occupied(mok.certificate)) {
      throw certificateMissing(
        mok,
        `${mok.key} is kept: a new pair would not match a key you may have enrolled. Put its certificate back at ${mok.certificate}, or move the key away to have a new pair made.`,
      );
    }
    if (occupied(mok.key) || occupied(mok.certificate)) {
      throw keyMissing(
        mok,
        `${mok.certificate} is kept: a new pair would replace a certificate you may have enrolled. Put its key back at ${mok.key}, or move the certificate away to have a new pair made.`,
      );
    }
    for (const dir of new Set([dirname(mok.key), dirname(mok.certificate)])) {
      if (!isDirectory(dir)) {
        throw keyMissing(
          mok,
          `${dir} does not exist and dkms does not create it: create it, or set mok_signing_key and mok_certificate in framework.conf.`,
        );
      }
    }
    const tmpKey = join(dirname(mok.key), `.${basename(mok.key)}.dkms-${process.pid}.tmp`);
    const tmpCertificate = join(
      dirname(mok.certificate),
      `.${basename(mok.certificate)}.dkms-${process.pid}.tmp`,
    );
    try {
      const result = await runTool('openssl', mokRequestArgs(tmpKey, tmpCertificate));
      if (result.exitCode === 127) {
        throw new DkmsError(
          'SIGN_FAILED',
          "openssl not found, can't generate key and certificate.",
          {
            hint: 'Install openssl, or set mok_signing_key and mok_certificate in framework.conf.',
          },
        );
      }
      if (result.exitCode !== 0 || !isFile(tmpKey) || !isFile(tmpCertificate)) {
        throw keyMissing(mok, result.stderr.trim().split('\n').slice(-3).join('\n'));
      }
      chmodSync(tmpKey, 0o600);
      chmodSync(tmpCertificate, 0o644);
      try {
        placeNew(tmpKey, mok.key);
      } catch (error) {
        throw keyMissing(mok, `${mok.key} could not be created: ${String(error)}`, error);
      }
      try {
        placeNew(tmpCertificate, mok.certificate);
      } catch (error) {
        // The key just placed is ours and matches nothing now: take it back.
        rmSync(mok.key, { force: true });
        throw certificateMissing(mok, `${mok.certificate} could not be created: ${String(error)}`);
      }
      return 'generated';
    } finally {
      rmSync(tmpKey, { force: true });
      rmSync(tmpCertificate, { force: true });
    }
  });
}

/** Upstream's line on stdout (as its prepare_mok echoes it), our advice on stderr. */
export function reportMokFailure(reporter: Reporter, error: unknown): void {
  reporter.info(isDkmsError(error) ? error.message : String(error));
  if (isDkmsError(error) && error.hint) reporter.warn(error.hint);
}
