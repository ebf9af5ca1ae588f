import { basename } from 'node:path';
import { kbuildSeries } from '../sign/signingPlan.js';
import type { KernelFacts, SecureBootFacts } from './facts.js';
import type { Finding } from './findings.js';

/** The command that rebuilds a kernel's initramfs with the tool that lists it. */
export function initramfsUpdateCommand(kernel: string, tool: string | undefined): string {
  return tool && basename(tool) === 'lsinitrd'
    ? `dracut -f --kver ${kernel}`
    : `update-initramfs -u -k ${kernel}`;
}

/** `depmod -a <kver>`, with `-b` when the install tree is not the system's. */
export function depmodCommand(installTree: string, kernel: string): string {
  const tree = installTree.replace(/\/+$/, '');
  if (tree === '/lib/modules') return `depmod -a ${kernel}`;
  return tree.endsWith('/lib/modules')
    ? `depmod -a -b ${tree.slice(0, -'/lib/modules'.length)} ${kernel}`
    : `mkdir -p /tmp/dkms-depmod/lib && ln -sfn ${tree} /tmp/dkms-depmod/lib/modules && depmod -a -b /tmp/dkms-depmod ${kernel}`;
}

/** Secure Boot as a whole: on, with a signing certificate the firmware does not know, is an error. */
export function secureBootFindings(facts: SecureBootFacts): Finding[] {
  const base = { check: 'secure-boot' as const };
  if (facts.state === 'disabled' || facts.state === 'unsupported') {
    return [
      {
        ...base,
        severity: 'ok',
        message: `Secure Boot is ${facts.state === 'disabled' ? 'disabled' : 'not supported on this system'}: unsigned modules load.`,
      },
    ];
  }
  if (facts.state === 'unknown') {
    return [
      {
        ...base,
        severity: 'unknown',
        message:
          'Cannot tell whether Secure Boot is enabled (no mokutil, no readable EFI variables).',
        fix: 'Install mokutil (apt-get install mokutil) and run dkms doctor again.',
      },
    ];
  }
  if (facts.enrollment.length === 0)
    return [
      {
        ...base,
        severity: 'ok',
        message: 'Secure Boot is enabled; no kernel here signs DKMS modules.',
      },
    ];
  return facts.enrollment.map(({ certificate, state }): Finding => {
    const file = certificate;
    switch (state) {
      case 'enrolled':
        return {
          ...base,
          file,
          severity: 'ok',
          message: `Secure Boot is enabled and ${certificate} is enrolled.`,
        };
      case 'pending':
        return {
          ...base,
          file,
          severity: 'warning',
          message: `Secure Boot is enabled and ${certificate} is queued for enrollment but not enrolled yet: DKMS modules are refused until then.`,
          fix: 'Reboot and confirm the key in the MOK manager (shim) with the password chosen at import.',
        };
      case 'not-enrolled':
        return {
          ...base,
          file,
          severity: 'error',
          message: `Secure Boot is enabled and ${certificate}, which signs DKMS modules, is not enrolled: the kernel refuses them ("Key was rejected by service").`,
          fix: `mokutil --import ${certificate}, then reboot and confirm the key in the MOK manager.`,
        };
      default:
        return {
          ...base,
          file,
          severity: 'unknown',
          message: `Secure Boot is enabled; cannot tell whether ${certificate} is enrolled.`,
          fix: `Install mokutil and run: mokutil --test-key ${certificate}`,
        };
    }
  });
}

function headersFinding(k: KernelFacts): Finding {
  const base = { check: 'headers' as const, kernel: k.kernel, file: k.headersDir };
  if (k.headersPresent)
    return { ...base, severity: 'ok', message: `Headers are at ${k.headersDir}.` };
  return {
    ...base,
    severity: 'warning',
    message: `No headers for ${k.kernel} at ${k.headersDir}: dkms cannot build or rebuild modules for it.`,
    fix: `Install the ${k.headersPackage} package.`,
  };
}

function signingFinding(k: KernelFacts): Finding {
  const base = { check: 'signing-setup' as const, kernel: k.kernel };
  if (!k.configPath) {
    return {
      ...base,
      severity: 'unknown',
      message: `The config of ${k.kernel} cannot be found: cannot tell whether its modules must be signed.`,
      fix: `Install the ${k.headersPackage} package.`,
    };
  }
  if (!k.wantsSignatures)
    return {
      ...base,
      severity: 'ok',
      file: k.configPath,
      message: `The kernel does not ask for signed modules (no CONFIG_MODULE_SIG_HASH).`,
    };
  const plan = k.signing;
  if (!plan.sign) {
    const fix = plan.signFile
      ? `Install ${plan.signFile} (Debian: apt-get install linux-kbuild-${kbuildSeries(k.kernel)}) or set sign_file in /etc/dkms/framework.conf, then rebuild the modules.`
      : 'Check the kernel config, then rebuild the modules.';
    return {
      ...base,
      severity: 'warning',
      file: plan.signFile,
      message: `The kernel wants signed modules but dkms cannot sign them: ${plan.reason}.`,
      fix,
    };
  }
  if (plan.generate && k.installedModules === 0) {
    return {
      ...base,
      severity: 'info',
      file: plan.mok.key,
      message: `No signing key yet (${plan.mok.key}): the first build generates it.`,
    };
  }
  if (plan.generate) {
    return {
      ...base,
      severity: 'warning',
      file: plan.mok.key,
      message: `The signing key ${plan.mok.key} or certificate ${plan.mok.certificate} does not exist: the modules installed for ${k.kernel} cannot have been signed with it.`,
      fix: 'dkms generate_mok (a build also generates it), then rebuild the modules.',
    };
  }
  if (!k.certificate) {
    return {
      ...base,
      severity: 'error',
      file: plan.mok.certificate,
      message: `The signing certificate ${plan.mok.certificate} cannot be read as an X.509 certificate.`,
      fix: `Move ${plan.mok.key} and ${plan.mok.certificate} aside, run dkms generate_mok, enroll the new certificate and rebuild the modules.`,
    };
  }
  return {
    ...base,
    severity: 'ok',
    file: plan.mok.certificate,
    message: `Modules are signed (${plan.hash}) by ${plan.signFile} with ${plan.mok.certificate} (${k.certificate.subject}).`,
  };
}

function modulesDepFinding(k: KernelFacts): Finding {
  const base = { check: 'modules-dep' as const, kernel: k.kernel, file: k.modulesDepPath };
  if (k.modulesDep) return { ...base, severity: 'ok', message: `${k.modulesDepPath} exists.` };
  return {
    ...base,
    severity: 'warning',
    message: `${k.modulesDepPath} does not exist: depmod has not run for ${k.kernel}, so modprobe finds no module.`,
    fix: depmodCommand(k.installTree, k.kernel),
  };
}

function initramfsFinding(k: KernelFacts): Finding | undefined {
  const base = { check: 'initramfs' as const, kernel: k.kernel };
  switch (k.initramfs.status) {
    case 'no-tool':
      return {
        ...base,
        severity: 'unknown',
        message: `The initramfs of ${k.kernel} was not checked: neither lsinitramfs nor lsinitrd is installed.`,
        fix: 'Install initramfs-tools-core (Debian, Ubuntu) or dracut to let doctor look inside initramfs images.',
      };
    case 'no-image':
      return {
        ...base,
        severity: 'info',
        message: `${k.kernel} has no initramfs image in ${k.initramfs.bootDir}.`,
      };
    case 'failed':
      return {
        ...base,
        severity: 'unknown',
        file: k.initramfs.image,
        message: `Cannot list ${k.initramfs.image}: ${k.initramfs.error}`,
        fix: `Check the image, or rebuild it: ${initramfsUpdateCommand(k.kernel, undefined)}`,
      };
    default:
      return undefined;
  }
}

/** The checks that concern a kernel as a whole. */
export function kernelFindings(k: KernelFacts): Finding[] {
  const findings = [headersFinding(k), signingFinding(k), modulesDepFinding(k)];
  const initramfs = initramfsFinding(k);
  if (initramfs) findings.push(initramfs);
  return findings;
}
