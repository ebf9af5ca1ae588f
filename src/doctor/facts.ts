import type { ReadinessRecord } from '../core/readiness.js';
import type { CertificateInfo } from '../sign/certificate.js';
import type { SignatureVerdict } from '../sign/moduleSignature.js';
import type { EnrolledKeys, EnrollmentState, SecureBootState } from '../sign/secureBoot.js';
import type { SigningPlan } from '../sign/signingPlan.js';
import type { ModuleCompression } from '../kernel/kernel.js';
import type { InitramfsEntry } from './initramfs.js';
import type { ContentFormat } from '../kernel/moduleImage.js';

/** What doctor read about one kernel; the checks are pure functions of these facts. */
export interface KernelFacts {
  kernel: string;
  installTree: string;
  headersDir: string;
  headersPresent: boolean;
  /** The package to install for headers on this distribution. */
  headersPackage: string;
  configPath: string | undefined;
  wantsSignatures: boolean;
  forcesSignatures: boolean;
  signing: SigningPlan;
  /** The configured certificate, when signing is planned and it can be read. */
  certificate: CertificateInfo | undefined;
  expectedCompression: ModuleCompression;
  modulesDepPath: string;
  /** undefined when modules.dep does not exist. */
  modulesDep: ReadonlyMap<string, string[]> | undefined;
  builtin: ReadonlySet<string>;
  /** Module name -> every file of that name in the kernel's tree (relative paths). */
  filesByName: ReadonlyMap<string, string[]>;
  initramfs: InitramfsFacts;
  /** How many dkms module builds are installed for this kernel. */
  installedModules: number;
  /** The kernel's readiness record, when autoinstall has run for it (docs/readiness.md). */
  readiness?: ReadinessRecord | undefined;
  /** Whether this is the kernel running now. */
  running?: boolean;
}

export type InitramfsFacts =
  | { status: 'listed'; image: string; tool: string; entries: InitramfsEntry[] }
  | { status: 'no-tool' }
  | { status: 'no-image'; bootDir: string }
  | { status: 'failed'; image: string; error: string };

export interface ModuleFileFacts {
  destName: string;
  /** Kernel module name (dest name with `_`). */
  name: string;
  built: string | undefined;
  installed: string | undefined;
  /** Installed path relative to `<install_tree>/<kver>`. */
  installedRelative: string | undefined;
  installedSize: number | undefined;
  sameAsBuilt: boolean;
  format: ContentFormat | undefined;
  vermagic: string | undefined;
  builtVermagic: string | undefined;
  signer: string | undefined;
  sigKey: string | undefined;
  /** 'unsigned', or how the signature relates to the configured certificate. */
  signature: 'unsigned' | 'unreadable' | 'no-certificate' | SignatureVerdict;
  /** Other kernels whose initramfs holds a module of this name. */
  initramfsElsewhere: string[];
}

export interface ModuleFacts {
  module: string;
  version: string;
  kernel: string;
  arch: string;
  broken: boolean;
  /** Why its dkms.conf could not be read for this kernel. */
  confError: string | undefined;
  files: ModuleFileFacts[];
}

export interface SecureBootFacts {
  state: SecureBootState;
  /** Enrollment of each certificate some kernel signs with (only asked when enabled). */
  enrollment: { certificate: string; state: EnrollmentState }[];
  /** Every enrolled (and queued) MOK's serial, when mokutil can list them. */
  enrolledKeys?: EnrolledKeys | undefined;
}
