import { normalizeSerial } from '../sign/certificate.js';
import type { KernelFacts, ModuleFacts, ModuleFileFacts, SecureBootFacts } from './facts.js';
import { fileChecker, type FileChecker } from './fileChecker.js';
import type { Finding } from './findings.js';

/*
 * Whether the key that signed each installed module is one shim knows (an enrolled MOK). A
 * module signed by a key that is not enrolled (an old key after a MOK change, a key that was
 * never imported) is refused with Secure Boot on. Checked only when mokutil lists the keys.
 */

/** The fix: re-sign with the configured key when that one is enrolled, else enroll it first. */
function fixFor(k: KernelFacts, keys: SecureBootFacts['enrolledKeys'], sign: string): string {
  if (!k.signing.sign) return `Make signing work first (${k.signing.reason}), then: ${sign}`;
  const configured = k.certificate?.serial;
  if (configured && keys?.enrolled.includes(configured))
    return `${sign} (re-signs with the enrolled key ${k.signing.mok.certificate})`;
  return `mokutil --import ${k.signing.mok.certificate}, reboot and confirm it in the MOK manager, then: ${sign}`;
}

function signerFinding(
  sb: SecureBootFacts,
  k: KernelFacts,
  f: ModuleFileFacts,
  c: FileChecker,
  sign: string,
): Finding | undefined {
  const keys = sb.enrolledKeys;
  if (!keys || !f.installed || !f.sigKey || f.signature === 'unsigned') return undefined;
  const serial = normalizeSerial(f.sigKey);
  const signer = `'${f.signer ?? 'unknown signer'}' (key ${serial})`;
  if (keys.enrolled.includes(serial))
    return c.finding('signer-enrolled', 'ok', `Signed by ${signer}, an enrolled MOK.`);
  const queued = keys.pending.includes(serial);
  const status = queued
    ? 'queued for enrollment but not enrolled yet (reboot and confirm it in the MOK manager)'
    : 'not enrolled';
  if (sb.state === 'enabled')
    return c.finding(
      'signer-enrolled',
      queued ? 'warning' : 'error',
      `${f.installed} is signed by ${signer}, which is ${status}: with Secure Boot on the kernel refuses it ("Key was rejected by service").`,
      queued ? 'Reboot and confirm the key in the MOK manager.' : fixFor(k, keys, sign),
    );
  return c.finding(
    'signer-enrolled',
    'warning',
    `${f.installed} is signed by ${signer}, which is ${status}: it loads while Secure Boot is off, and is refused once it is on.`,
    fixFor(k, keys, sign),
  );
}

/** The signer check for every installed file of one module build. */
export function signerFindings(
  sb: SecureBootFacts,
  k: KernelFacts,
  m: ModuleFacts,
  defaultArch: string,
): Finding[] {
  if (!k.wantsSignatures || m.broken || m.confError) return [];
  return m.files.flatMap((f) => {
    const c = fileChecker(m, f, defaultArch);
    const finding = signerFinding(sb, k, f, c, c.resign);
    return finding ? [finding] : [];
  });
}
