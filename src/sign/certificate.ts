import { runTool } from '../core/exec.js';

/** What identifies a signing certificate in a module signature. */
export interface CertificateInfo {
  path: string;
  /** Upper-case hex without separators or leading zeros, as compared with modinfo's sig_key. */
  serial: string;
  /** RFC 2253 subject, e.g. `CN=DKMS module signing key`. */
  subject: string;
  commonName: string | undefined;
}

/** `71:41:BA:...` or `7141ba...` -> `7141BA...`; leading zero bytes do not count. */
export const normalizeSerial = (serial: string): string =>
  serial
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');

/** Parses `openssl x509 -noout -serial -subject -nameopt RFC2253` output. */
export function parseCertificateText(path: string, text: string): CertificateInfo | undefined {
  const serial = /^serial=(\S+)/m.exec(text)?.[1];
  const subject = /^subject=(.*)$/m.exec(text)?.[1]?.trim();
  if (!serial || subject === undefined) return undefined;
  const commonName = /(?:^|,)CN=((?:\\.|[^,])*)/.exec(subject)?.[1]?.replace(/\\(.)/g, '$1');
  return { path, serial: normalizeSerial(serial), subject, commonName };
}

/** Reads a DER or PEM certificate with openssl (which detects the format). */
export async function readCertificate(path: string): Promise<CertificateInfo | undefined> {
  const result = await runTool('openssl', [
    'x509',
    '-in',
    path,
    '-noout',
    '-serial',
    '-subject',
    '-nameopt',
    'RFC2253',
  ]);
  return result.exitCode === 0 ? parseCertificateText(path, result.stdout) : undefined;
}
