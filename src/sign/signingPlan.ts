import { join } from 'node:path';
import type { FrameworkConf } from '../core/framework.js';
import type { KernelConfig } from '../kernel/kernel.js';

/** What signing needs, as read from the system; `planSigning` turns it into a decision. */
export interface SigningInputs {
  kernel: string;
  /** ID / ID_LIKE of the distribution (readDistro). */
  distro: string;
  /** The kernel config the build used ($kernel_config), if it could be read. */
  kernelConfig: KernelConfig | undefined;
  kernelConfigPath: string | undefined;
  /** sign_file, mok_signing_key, mok_certificate from framework.conf, evaluated with $kernelver. */
  framework: Pick<
    FrameworkConf,
    'sign_file' | 'mok_signing_key' | 'mok_certificate' | 'try_sign_modules'
  >;
  /** dkms 3.4's running_in_chroot (asked only when try_sign_modules is not "true"). */
  inChroot: () => boolean;
  dkmsTree: string;
  /** `<install_tree>/<kver>/build` (or --kernelsourcedir). */
  kernelBuildDir: string;
  isFile: (path: string) => boolean;
  isExecutable: (path: string) => boolean;
  /** `command -v NAME`, for Ubuntu's kmodsign. */
  which: (name: string) => string | undefined;
}

/** The key pair modules are signed with. `key` may be a `pkcs11:` URI. */
export interface MokPaths {
  key: string;
  certificate: string;
}

export type SigningPlan =
  | {
      sign: true;
      /** CONFIG_MODULE_SIG_HASH, e.g. sha256. */
      hash: string;
      signFile: string;
      mok: MokPaths;
      /** The key or certificate is missing and must be generated first. */
      generate: boolean;
    }
  | { sign: false; reason: string; signFile?: string };

export const isPkcs11 = (key: string): boolean => key.startsWith('pkcs11:');

/** `${kernelver%.*}`: 6.1.0-47-amd64 -> 6.1, the linux-kbuild-<x.y> Debian ships. */
export const kbuildSeries = (kernel: string): string => {
  const dot = kernel.lastIndexOf('.');
  return dot < 0 ? kernel : kernel.slice(0, dot);
};

/** The sign-file dkms 3.4 uses for a kernel: framework.conf, the distribution's, the kernel's. */
export function locateSignFile(input: SigningInputs): string {
  if (input.framework.sign_file) return input.framework.sign_file;
  let candidate: string | undefined;
  if (/^debian/.test(input.distro))
    candidate = `/usr/lib/linux-kbuild-${kbuildSeries(input.kernel)}/scripts/sign-file`;
  else if (/^ubuntu/.test(input.distro))
    candidate =
      input.which('kmodsign') ?? `/usr/src/linux-headers-${input.kernel}/scripts/sign-file`;
  else if (/^gentoo/.test(input.distro))
    candidate = `/usr/src/linux-${input.kernel}/scripts/sign-file`;
  if (candidate && input.isFile(candidate)) return candidate;
  return join(input.kernelBuildDir, 'scripts', 'sign-file');
}

/** The key pair: framework.conf, Ubuntu's enrolled shim-signed MOK when present, else the dkms tree's. */
export function locateMok(input: SigningInputs): MokPaths {
  const { mok_signing_key: key, mok_certificate: certificate } = input.framework;
  if (!key && /^ubuntu/.test(input.distro)) {
    const ubuntu = {
      key: '/var/lib/shim-signed/mok/MOK.priv',
      certificate: '/var/lib/shim-signed/mok/MOK.der',
    };
    if (input.isFile(ubuntu.key) && input.isFile(ubuntu.certificate)) return ubuntu;
  }
  return {
    key: key || join(input.dkmsTree, 'mok.key'),
    certificate: certificate || join(input.dkmsTree, 'mok.pub'),
  };
}

/**
 * dkms 3.4's prepare_signing as a decision: sign when the kernel config has
 * CONFIG_MODULE_SIG_HASH and a sign-file exists; the reasons are upstream's messages.
 */
export function planSigning(input: SigningInputs): SigningPlan {
  const policy = input.framework.try_sign_modules;
  if (policy === 'false')
    return { sign: false, reason: "Module signing is disabled by policy, modules won't be signed" };
  // anything but "true" acts as "not_in_chroot", the default
  if (policy !== 'true' && input.inChroot())
    return { sign: false, reason: "Running in chroot, modules won't be signed" };
  if (!input.kernelConfig) {
    return {
      sign: false,
      reason: `Kernel config ${input.kernelConfigPath ?? '(none)'} not found, modules won't be signed`,
    };
  }
  const hash = input.kernelConfig.get('CONFIG_MODULE_SIG_HASH');
  if (!hash)
    return {
      sign: false,
      reason: "The kernel is built without module signing facility, modules won't be signed",
    };
  const signFile = locateSignFile(input);
  if (!input.isFile(signFile) || !input.isExecutable(signFile)) {
    return {
      sign: false,
      reason: `Binary ${signFile} not found, modules won't be signed`,
      signFile,
    };
  }
  const mok = locateMok(input);
  const generate = !isPkcs11(mok.key) && (!input.isFile(mok.key) || !input.isFile(mok.certificate));
  return { sign: true, hash, signFile, mok, generate };
}

/** Whether a kernel wants signed modules at all (the condition dkms signs under). */
export const kernelWantsSignatures = (config: KernelConfig | undefined): boolean =>
  Boolean(config?.get('CONFIG_MODULE_SIG_HASH'));

/** Whether a kernel refuses unsigned modules whatever the firmware says. */
export const kernelForcesSignatures = (config: KernelConfig | undefined): boolean =>
  config?.get('CONFIG_MODULE_SIG_FORCE') === 'y';
