import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryReporter } from '../../src/core/host.js';
import {
  parseMokSerials,
  parseSbState,
  parseSecureBootVariable,
  parseTestKey,
  systemSecureBootProbe,
  warnIfNotEnrolled,
  type SecureBootProbe,
} from '../../src/sign/secureBoot.js';

const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const SHIM_LOCK = '605dab50-e046-4300-abb6-3dd810dd8b23';

describe('Secure Boot detection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dkms-sb.'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads mokutil --sb-state and --test-key wording', () => {
    assert.equal(parseSbState('SecureBoot enabled\n'), 'enabled');
    assert.equal(parseSbState('SecureBoot disabled\nPlatform is in Setup Mode\n'), 'disabled');
    assert.equal(
      parseSbState('SecureBoot enabled\nSecureBoot validation is disabled in shim\n'),
      'disabled',
    );
    assert.equal(parseSbState("This system doesn't support Secure Boot\n"), 'unsupported');
    assert.equal(parseSbState('EFI variables are not supported on this system\n'), 'unsupported');
    assert.equal(parseTestKey('/var/lib/dkms/mok.pub is already enrolled\n'), 'enrolled');
    assert.equal(parseTestKey('/var/lib/dkms/mok.pub is not enrolled\n'), 'not-enrolled');
    assert.equal(
      parseTestKey('/var/lib/dkms/mok.pub is already in the enrollment request\n'),
      'pending',
    );
    assert.equal(parseTestKey('Failed to read /x\n'), 'unknown');
  });

  it('reads the serials of mokutil --list-enrolled (long and short serial forms)', () => {
    const listing = [
      '[key 1]',
      'SHA1 Fingerprint: 6c:1a:...',
      'Certificate:',
      '    Data:',
      '        Version: 3 (0x2)',
      '        Serial Number:',
      '            0a:71:41:ba:9e:00:2c:33:a1:5e:11:01:2b:3c:4d:5e:6f:70:81:92',
      '        Signature Algorithm: sha256WithRSAEncryption',
      '[key 2]',
      'Certificate:',
      '    Data:',
      '        Serial Number: 4660 (0x1234)',
    ].join('\n');
    assert.deepEqual(parseMokSerials(listing), ['A7141BA9E002C33A15E11012B3C4D5E6F708192', '1234']);
    assert.deepEqual(parseMokSerials('MokListRT is empty\n'), []);
  });

  it('reads the SecureBoot EFI variable (4 attribute bytes, then the value)', () => {
    assert.equal(parseSecureBootVariable(Buffer.from([6, 0, 0, 0, 1])), 'enabled');
    assert.equal(parseSecureBootVariable(Buffer.from([6, 0, 0, 0, 0])), 'disabled');
    assert.equal(parseSecureBootVariable(Buffer.from([6])), 'unknown');
  });

  it('asks mokutil first and falls back to efivars and the MOK list', async () => {
    const cert = join(dir, 'mok.der');
    writeFileSync(cert, Buffer.from('0\x82\x01\x0aFAKE-DER-CERTIFICATE', 'latin1'));
    const efi = join(dir, 'efi');
    mkdirSync(join(efi, 'efivars'), { recursive: true });
    writeFileSync(join(efi, 'efivars', `SecureBoot-${EFI_GLOBAL}`), Buffer.from([6, 0, 0, 0, 1]));
    const noMokutil = systemSecureBootProbe({ mokutil: join(dir, 'no-such-mokutil'), efiDir: efi });
    assert.equal(await noMokutil.state(), 'enabled');
    assert.equal(await noMokutil.enrollment(cert), 'unknown', 'no MOK list to look in');
    writeFileSync(
      join(efi, 'efivars', `MokListRT-${SHIM_LOCK}`),
      Buffer.from('\x07\x00\x00\x00something else', 'latin1'),
    );
    assert.equal(await noMokutil.enrollment(cert), 'not-enrolled');
    writeFileSync(
      join(efi, 'efivars', `MokNew-${SHIM_LOCK}`),
      Buffer.concat([
        Buffer.from([7, 0, 0, 0]),
        Buffer.from('0\x82\x01\x0aFAKE-DER-CERTIFICATE', 'latin1'),
      ]),
    );
    assert.equal(await noMokutil.enrollment(cert), 'pending');
    writeFileSync(
      join(efi, 'efivars', `MokListRT-${SHIM_LOCK}`),
      Buffer.from('\x07\x00\x00\x00..0\x82\x01\x0aFAKE-DER-CERTIFICATE..', 'latin1'),
    );
    assert.equal(await noMokutil.enrollment(cert), 'enrolled');
    assert.equal(
      await systemSecureBootProbe({
        mokutil: join(dir, 'no-such-mokutil'),
        efiDir: join(dir, 'no-efi'),
      }).state(),
      'unsupported',
    );

    const mokutil = join(dir, 'mokutil');
    writeFileSync(
      mokutil,
      `#!/bin/sh\ncase "$1" in --sb-state) echo "SecureBoot disabled";; --test-key) echo "$2 is already enrolled"; exit 1;; esac\n`,
    );
    chmodSync(mokutil, 0o755);
    const probe = systemSecureBootProbe({ mokutil, efiDir: efi });
    assert.equal(await probe.state(), 'disabled', 'mokutil wins over the EFI variable');
    assert.equal(await probe.enrollment(cert), 'enrolled');
  });

  it('warns loudly with the mokutil --import command, once per run', async () => {
    let asked = 0;
    const probe: SecureBootProbe = {
      state: () => Promise.resolve('enabled'),
      enrollment: () => {
        asked++;
        return Promise.resolve('not-enrolled');
      },
    };
    const reporter = new MemoryReporter();
    const run = {};
    assert.equal(
      await warnIfNotEnrolled(run, reporter, '/var/lib/dkms/mok.pub', probe),
      'not-enrolled',
    );
    assert.equal(await warnIfNotEnrolled(run, reporter, '/var/lib/dkms/mok.pub', probe), undefined);
    assert.equal(asked, 1);
    const warnings = reporter.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.text ?? '', /^ {4}mokutil --import \/var\/lib\/dkms\/mok\.pub$/m);
    assert.match(warnings[0]?.text ?? '', /Key was rejected by service/);
    await warnIfNotEnrolled({}, reporter, '/var/lib/dkms/mok.pub', probe);
    assert.equal(
      reporter.lines.filter((l) => l.level === 'warn').length,
      2,
      'a new run warns again',
    );
  });

  it('stays quiet when Secure Boot is off or the key is enrolled', async () => {
    const reporter = new MemoryReporter();
    await warnIfNotEnrolled({}, reporter, '/c', {
      state: () => Promise.resolve('disabled'),
      enrollment: () => Promise.resolve('not-enrolled'),
    });
    await warnIfNotEnrolled({}, reporter, '/c', {
      state: () => Promise.resolve('enabled'),
      enrollment: () => Promise.resolve('enrolled'),
    });
    assert.deepEqual(reporter.lines, []);
  });
});
