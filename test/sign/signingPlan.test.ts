import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kbuildSeries, planSigning, type SigningInputs } from '../../src/sign/signingPlan.js';

const K = '6.1.0-47-amd64';
const KBUILD = '/usr/lib/linux-kbuild-6.1/scripts/sign-file';

function inputs(overrides: Partial<SigningInputs> & { files?: string[] } = {}): SigningInputs {
  const files = new Set(overrides.files ?? [KBUILD]);
  return {
    kernel: K,
    distro: 'debian',
    kernelConfig: new Map([['CONFIG_MODULE_SIG_HASH', 'sha256']]),
    kernelConfigPath: '/k/.config',
    framework: {},
    dkmsTree: '/var/lib/dkms',
    kernelBuildDir: `/lib/modules/${K}/build`,
    isFile: (path) => files.has(path),
    isExecutable: (path) => files.has(path),
    which: () => undefined,
    inChroot: () => false,
    ...overrides,
  };
}

describe('planSigning (dkms 3.4 prepare_signing)', () => {
  it('follows try_sign_modules: false never signs, the default skips chroots, true signs there', () => {
    const reason = (overrides: Partial<SigningInputs>): string | undefined => {
      const plan = planSigning(inputs(overrides));
      return plan.sign ? undefined : plan.reason;
    };
    assert.equal(
      reason({ framework: { try_sign_modules: 'false' } }),
      "Module signing is disabled by policy, modules won't be signed",
    );
    for (const policy of [undefined, 'not_in_chroot', 'anything'])
      assert.equal(
        reason({ framework: policy ? { try_sign_modules: policy } : {}, inChroot: () => true }),
        "Running in chroot, modules won't be signed",
      );
    assert.equal(
      reason({ framework: { try_sign_modules: 'true' }, inChroot: () => true }),
      undefined,
    );
  });

  it("takes ${kernelver%.*} for Debian's linux-kbuild directory", () => {
    assert.equal(kbuildSeries('6.1.0-47-amd64'), '6.1');
    assert.equal(kbuildSeries('6.12.9+bpo-amd64'), '6.12');
  });

  it("signs with Debian's sign-file and the dkms tree's key pair, generating it when missing", () => {
    assert.deepEqual(planSigning(inputs()), {
      sign: true,
      hash: 'sha256',
      signFile: KBUILD,
      mok: { key: '/var/lib/dkms/mok.key', certificate: '/var/lib/dkms/mok.pub' },
      generate: true,
    });
    const present = planSigning(
      inputs({ files: [KBUILD, '/var/lib/dkms/mok.key', '/var/lib/dkms/mok.pub'] }),
    );
    assert.equal(present.sign && present.generate, false);
  });

  it("falls back to the kernel build tree's scripts/sign-file", () => {
    const plan = planSigning(inputs({ files: [`/lib/modules/${K}/build/scripts/sign-file`] }));
    assert.equal(plan.sign && plan.signFile, `/lib/modules/${K}/build/scripts/sign-file`);
    assert.equal(
      planSigning(inputs({ distro: 'fedora' })).sign,
      false,
      'only Debian looks in linux-kbuild',
    );
  });

  it('uses framework.conf sign_file, mok_signing_key and mok_certificate', () => {
    const plan = planSigning(
      inputs({
        framework: {
          sign_file: '/opt/sign',
          mok_signing_key: `/keys/${K}.key`,
          mok_certificate: `/keys/${K}.der`,
        },
        files: ['/opt/sign', `/keys/${K}.key`, `/keys/${K}.der`],
      }),
    );
    assert.deepEqual(plan, {
      sign: true,
      hash: 'sha256',
      signFile: '/opt/sign',
      mok: { key: `/keys/${K}.key`, certificate: `/keys/${K}.der` },
      generate: false,
    });
  });

  it('never generates over a PKCS#11 key', () => {
    const plan = planSigning(
      inputs({
        framework: { mok_signing_key: 'pkcs11:token=x', mok_certificate: '/c.der' },
        files: [KBUILD],
      }),
    );
    assert.equal(plan.sign && plan.generate, false);
  });

  it("uses Ubuntu's enrolled shim-signed MOK when it exists", () => {
    const ubuntu = [
      '/usr/bin/kmodsign',
      '/var/lib/shim-signed/mok/MOK.priv',
      '/var/lib/shim-signed/mok/MOK.der',
    ];
    const plan = planSigning(
      inputs({
        distro: 'ubuntu',
        files: ubuntu,
        which: (name) => (name === 'kmodsign' ? '/usr/bin/kmodsign' : undefined),
      }),
    );
    assert.deepEqual(plan.sign && [plan.signFile, plan.mok.certificate], [
      '/usr/bin/kmodsign',
      '/var/lib/shim-signed/mok/MOK.der',
    ]);
  });

  it("does not sign, with upstream's reason, when the kernel or the tools do not allow it", () => {
    assert.deepEqual(planSigning(inputs({ kernelConfig: undefined })), {
      sign: false,
      reason: "Kernel config /k/.config not found, modules won't be signed",
    });
    assert.equal(
      planSigning(inputs({ kernelConfig: new Map([['CONFIG_MODULE_SIG', 'y']]) })).sign,
      false,
    );
    assert.deepEqual(planSigning(inputs({ kernelConfig: new Map() })), {
      sign: false,
      reason: "The kernel is built without module signing facility, modules won't be signed",
    });
    const missing = planSigning(inputs({ files: [] }));
    assert.deepEqual(missing, {
      sign: false,
      reason: `Binary /lib/modules/${K}/build/scripts/sign-file not found, modules won't be signed`,
      signFile: `/lib/modules/${K}/build/scripts/sign-file`,
    });
  });
});
