import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../core/host.js';
import { normalizeSerial } from './certificate.js';
import { runTool } from '../core/exec.js';

export type SecureBootState = 'enabled' | 'disabled' | 'unsupported' | 'unknown';
export type EnrollmentState = 'enrolled' | 'pending' | 'not-enrolled' | 'unknown';

/** The serials (normalized, as modinfo's sig_key) of the keys shim knows. */
export interface EnrolledKeys {
  /** `mokutil --list-enrolled` */
  enrolled: string[];
  /** `mokutil --list-new`: queued, enrolled at the next boot once confirmed. */
  pending: string[];
}

/** How dkms learns about Secure Boot; tests and sandboxes inject their own. */
export interface SecureBootProbe {
  state(): Promise<SecureBootState>;
  /** Whether shim's MOK list holds the certificate (`mokutil --test-key`). */
  enrollment(certificate: string): Promise<EnrollmentState>;
  /** Every enrolled MOK, or undefined when that cannot be known (no mokutil). */
  enrolledKeys?(): Promise<EnrolledKeys | undefined>;
}

export interface SystemProbeOptions {
  /** @default process.env.DKMS_MOKUTIL || 'mokutil' (found on PATH) */
  mokutil?: string;
  /** @default process.env.DKMS_EFI_DIR || '/sys/firmware/efi' */
  efiDir?: string;
}

const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const SHIM_LOCK = '605dab50-e046-4300-abb6-3dd810dd8b23';

/** `mokutil --sb-state` output -> state. */
export function parseSbState(text: string): SecureBootState {
  if (/validation is disabled in shim/i.test(text)) return 'disabled';
  if (/SecureBoot enabled/i.test(text)) return 'enabled';
  if (/SecureBoot disabled/i.test(text)) return 'disabled';
  if (/doesn't support Secure Boot|not supported/i.test(text)) return 'unsupported';
  return 'unknown';
}

/** `mokutil --test-key CERT` output -> state (its exit status is 0 only for "not enrolled"). */
export function parseTestKey(text: string): EnrollmentState {
  if (/already enrolled/i.test(text)) return 'enrolled';
  if (/enrollment request|pending/i.test(text)) return 'pending';
  if (/is not enrolled/i.test(text)) return 'not-enrolled';
  return 'unknown';
}

/**
 * The certificate serials in `mokutil --list-enrolled` / `--list-new` output (openssl's text:
 * `Serial Number:` then hex bytes on the next line, or `Serial Number: 4660 (0x1234)`).
 */
export function parseMokSerials(text: string): string[] {
  const serials: string[] = [];
  for (const match of text.matchAll(
    /Serial Number:[ \t]*(?:\n[ \t]*([0-9a-fA-F:]+)|\d+ \(0x([0-9a-fA-F]+)\))/g,
  )) {
    const hex = match[1] ?? match[2];
    if (hex) serials.push(normalizeSerial(hex));
  }
  return serials;
}

/** The SecureBoot EFI variable: 4 attribute bytes, then 1 when enabled. */
export function parseSecureBootVariable(data: Buffer): SecureBootState {
  if (data.length < 5) return 'unknown';
  return data[4] === 1 ? 'enabled' : 'disabled';
}

/** A certificate's DER bytes, whether the file is DER or PEM. */
export function certificateDer(file: Buffer): Buffer {
  const text = file.toString('latin1');
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  return pem?.[1] ? Buffer.from(pem[1].replace(/\s+/g, ''), 'base64') : file;
}

const readOrUndefined = (path: string): Buffer | undefined => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

const exists = (path: string): boolean => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** mokutil when installed; the EFI variables otherwise. */
export function systemSecureBootProbe(options: SystemProbeOptions = {}): SecureBootProbe {
  const mokutil = options.mokutil ?? (process.env['DKMS_MOKUTIL'] || 'mokutil');
  const efiDir = options.efiDir ?? (process.env['DKMS_EFI_DIR'] || '/sys/firmware/efi');
  const efivar = (name: string, guid: string): Buffer | undefined =>
    readOrUndefined(join(efiDir, 'efivars', `${name}-${guid}`));
  return {
    async state() {
      const result = await runTool(mokutil, ['--sb-state']);
      if (result.exitCode !== 127) {
        const state = parseSbState(`${result.stdout}\n${result.stderr}`);
        if (state !== 'unknown') return state;
      }
      if (!exists(efiDir)) return 'unsupported';
      const variable = efivar('SecureBoot', EFI_GLOBAL);
      return variable ? parseSecureBootVariable(variable) : 'unknown';
    },
    async enrollment(certificate) {
      const result = await runTool(mokutil, ['--test-key', certificate]);
      if (result.exitCode !== 127) {
        const state = parseTestKey(`${result.stdout}\n${result.stderr}`);
        if (state !== 'unknown') return state;
      }
      const file = readOrUndefined(certificate);
      if (!file) return 'unknown';
      const der = certificateDer(file);
      const list =
        readOrUndefined(join(efiDir, 'mok-variables', 'MokListRT')) ??
        efivar('MokListRT', SHIM_LOCK);
      if (list?.includes(der)) return 'enrolled';
      if (efivar('MokNew', SHIM_LOCK)?.includes(der)) return 'pending';
      return list ? 'not-enrolled' : 'unknown';
    },
    async enrolledKeys() {
      const enrolled = await runTool(mokutil, ['--list-enrolled']);
      if (enrolled.exitCode === 127) return undefined;
      const text = `${enrolled.stdout}\n${enrolled.stderr}`;
      // "MokListRT is empty" and the like: nothing enrolled; other failures: cannot tell
      if (enrolled.exitCode !== 0 && !/is empty/i.test(text)) return undefined;
      const pending = await runTool(mokutil, ['--list-new']);
      return {
        enrolled: parseMokSerials(text),
        pending: pending.exitCode === 0 ? parseMokSerials(pending.stdout) : [],
      };
    },
  };
}

/** The loud message for a certificate the firmware will not trust (one multi-line warning). */
export function notEnrolledMessage(certificate: string): string {
  return [
    'Secure Boot is enabled, but the certificate that signs DKMS modules is not enrolled:',
    `    ${certificate}`,
    'The kernel will refuse to load these modules ("Key was rejected by service").',
    'Enroll the certificate with:',
    '',
    `    mokutil --import ${certificate}`,
    '',
    "then reboot and confirm the key in the MOK manager (shim's blue screen).",
  ].join('\n');
}

const warned = new WeakMap<object, Set<string>>();

/**
 * Warns once per run (per `run` object: the CLI's context, a daemon job...) when Secure Boot
 * is on and the signing certificate is not enrolled. Returns the enrollment state it found.
 */
export async function warnIfNotEnrolled(
  run: object,
  reporter: Reporter,
  certificate: string,
  probe: SecureBootProbe,
): Promise<EnrollmentState | undefined> {
  const done = warned.get(run) ?? new Set<string>();
  warned.set(run, done);
  if (done.has(certificate)) return undefined;
  done.add(certificate);
  if ((await probe.state()) !== 'enabled') return undefined;
  const enrollment = await probe.enrollment(certificate);
  if (enrollment === 'not-enrolled') reporter.warn(notEnrolledMessage(certificate));
  if (enrollment === 'pending')
    reporter.warn(
      `The certificate ${certificate} is queued for enrollment: reboot and confirm it in the MOK manager, or the kernel will refuse DKMS modules.`,
    );
  return enrollment;
}
