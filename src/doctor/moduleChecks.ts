import { vermagicRelease } from './modinfo.js';
import type { KernelFacts, ModuleFacts, ModuleFileFacts } from './facts.js';
import { fileChecker, type FileChecker } from './fileChecker.js';
import type { Finding } from './findings.js';
import { suffixOf } from '../kernel/moduleImage.js';
import { depAndShadowFindings, initramfsFinding } from './placementChecks.js';

const describeCompression = (suffix: string): string => (suffix ? suffix.slice(1) : 'uncompressed');
const contentFor = (suffix: string): string => (suffix ? suffix : 'elf');

function vermagicFinding(k: KernelFacts, f: ModuleFileFacts, c: FileChecker): Finding {
  const release = vermagicRelease(f.vermagic);
  if (!release)
    return c.finding(
      'vermagic',
      'unknown',
      `modinfo cannot read the vermagic of ${f.installed}.`,
      `modinfo ${f.installed}; if it is damaged: ${c.rebuild}`,
    );
  if (release === k.kernel) return c.finding('vermagic', 'ok', `vermagic ${release} matches.`);
  const builtRight = vermagicRelease(f.builtVermagic) === k.kernel;
  return c.finding(
    'vermagic',
    'error',
    `vermagic of ${f.installed} is "${f.vermagic}": built for ${release}, not ${k.kernel}; the kernel refuses to load it.`,
    builtRight ? c.reinstall : c.rebuild,
  );
}

function signatureFinding(k: KernelFacts, f: ModuleFileFacts, c: FileChecker): Finding | undefined {
  if (!k.wantsSignatures) return undefined;
  const cert = k.signing.sign ? k.signing.mok.certificate : undefined;
  const signer = f.signer
    ? `'${f.signer}'${f.sigKey ? ` (key ${f.sigKey})` : ''}`
    : 'an unknown signer';
  switch (f.signature) {
    case 'unsigned': {
      const consequence = k.forcesSignatures
        ? 'the kernel refuses it (CONFIG_MODULE_SIG_FORCE)'
        : 'with Secure Boot on the kernel refuses it, otherwise loading it taints the kernel';
      const fix = k.signing.sign
        ? c.rebuild
        : `Make signing work first (${k.signing.reason}), then: ${c.rebuild}`;
      return c.finding(
        'signature',
        'error',
        `${f.installed} is not signed, but ${k.kernel} wants signed modules: ${consequence}.`,
        fix,
      );
    }
    case 'valid':
      return c.finding(
        'signature',
        'ok',
        `Signed by ${signer} with the configured certificate${cert ? ` ${cert}` : ''}; the signature verifies.`,
      );
    case 'other-signer':
      return c.finding(
        'signature',
        'warning',
        `Signed by ${signer}, not by the configured certificate ${cert ?? ''}: it loads only if that key is enrolled.`,
        `${c.resign} (re-signs with the configured key), or enroll the signer's certificate.`,
      );
    case 'invalid':
      return c.finding(
        'signature',
        'error',
        `The signature of ${f.installed} does not match its content: the file changed after it was signed, and the kernel will reject it.`,
        c.rebuild,
      );
    case 'no-certificate':
      return c.finding(
        'signature',
        'unknown',
        `Signed by ${signer}, but the configured certificate ${cert ?? ''} does not exist to check it against.`,
        'dkms generate_mok, then rebuild the module.',
      );
    default:
      return c.finding(
        'signature',
        'unknown',
        `Cannot verify the signature of ${f.installed}.`,
        `Check it with: modinfo ${f.installed}`,
      );
  }
}

function compressionFinding(k: KernelFacts, f: ModuleFileFacts, c: FileChecker): Finding {
  const suffix = suffixOf(f.installed ?? '');
  if (f.format !== contentFor(suffix)) {
    return c.finding(
      'compression',
      'error',
      `${f.installed} is named ${describeCompression(suffix)} but holds ${f.format === 'elf' ? 'an uncompressed module' : f.format === 'unknown' ? 'no module' : `${describeCompression(f.format ?? '')} data`}.`,
      c.reinstall,
    );
  }
  if (suffix !== k.expectedCompression) {
    return c.finding(
      'compression',
      'warning',
      `${f.installed} is ${describeCompression(suffix)}, but ${k.kernel}'s modules are ${describeCompression(k.expectedCompression)}.`,
      c.rebuild,
    );
  }
  return c.finding(
    'compression',
    'ok',
    `Compression (${describeCompression(suffix)}) is what ${k.kernel} uses.`,
  );
}

/** Every check on one installed module build (module/version/kernel/arch). */
export function moduleFindings(k: KernelFacts, m: ModuleFacts, defaultArch: string): Finding[] {
  const ref = { module: m.module, version: m.version, kernel: m.kernel, arch: m.arch };
  if (m.broken) {
    return [
      {
        check: 'conf',
        severity: 'error',
        ...ref,
        message: `${m.module}/${m.version} is installed for ${m.kernel} but broken: its source is missing.`,
        fix: `Reinstall the package that provides the source of ${m.module}/${m.version}, or: dkms remove ${m.module}/${m.version} --all`,
      },
    ];
  }
  if (m.confError) {
    return [
      {
        check: 'conf',
        severity: 'error',
        ...ref,
        message: `The dkms.conf of ${m.module}/${m.version} cannot be read for ${m.kernel}: ${m.confError}`,
        fix: 'Fix the dkms.conf (it is a bash script: bash -n dkms.conf), or reinstall the package that provides it.',
      },
    ];
  }
  const findings: Finding[] = [];
  for (const f of m.files) {
    const c = fileChecker(m, f, defaultArch);
    if (!f.built)
      findings.push(
        c.finding(
          'built-matches-installed',
          'warning',
          `The built ${f.destName} is missing from the dkms tree: dkms cannot compare or reinstall it.`,
          c.rebuild,
        ),
      );
    if (!f.installed) {
      findings.push(
        c.finding(
          'installed-file',
          'error',
          `${f.destName} is not installed in ${k.kernel}'s module tree.`,
          c.reinstall,
        ),
      );
      continue;
    }
    findings.push(c.finding('installed-file', 'ok', `Installed as ${f.installed}.`));
    findings.push(vermagicFinding(k, f, c));
    if (f.built) {
      findings.push(
        f.sameAsBuilt
          ? c.finding('built-matches-installed', 'ok', 'The installed file is the built one.')
          : c.finding(
              'built-matches-installed',
              'error',
              `${f.installed} differs from the built ${f.built}: it was modified or replaced after dkms installed it.`,
              c.reinstall,
            ),
      );
    }
    const signature = signatureFinding(k, f, c);
    if (signature) findings.push(signature);
    findings.push(compressionFinding(k, f, c));
    findings.push(...depAndShadowFindings(k, f, c));
    const initramfs = initramfsFinding(k, f, c);
    if (initramfs) findings.push(initramfs);
  }
  return findings;
}
