import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveDkmsConf, type ConfContext, type RawConf } from '../../src/conf/dkmsConf.js';
import { DkmsError } from '../../src/core/errors.js';

const ctx: ConfContext = {
  module: 'm',
  moduleVersion: '1',
  kernelver: '6.1.0-47-amd64',
  arch: 'x86_64',
  kernelSourceDir: '/lib/modules/6.1.0-47-amd64/build',
  dkmsTree: '/var/lib/dkms',
  distro: 'debian',
  kernelConfig: new Map([
    ['CONFIG_I2C', 'm'],
    ['CONFIG_X', 'y'],
  ]),
  confPath: '/usr/src/m-1/dkms.conf',
};
const raw = (values: Record<string, string | Record<number, string>>): RawConf =>
  new Map(
    Object.entries(values).map(([k, v]) => [
      k,
      new Map(typeof v === 'string' ? [[0, v]] : Object.entries(v).map(([i, x]) => [Number(i), x])),
    ]),
  );
const base = { PACKAGE_NAME: 'm', PACKAGE_VERSION: '1', DEST_MODULE_LOCATION: '/updates' };

describe('resolveDkmsConf', () => {
  it('applies upstream defaults', () => {
    const conf = resolveDkmsConf(raw(base), ctx);
    assert.deepEqual(conf.modules, [
      {
        builtName: 'm',
        builtLocation: '',
        destName: 'm',
        destLocation: '/updates/dkms',
        declaredDestLocation: '/updates',
        strip: true,
        excluded: false,
      },
    ]);
    assert.equal(
      conf.makeCommand,
      'make -C /lib/modules/6.1.0-47-amd64/build M=/var/lib/dkms/m/1/build',
    );
    assert.equal(conf.autoinstall, false);
    assert.equal(conf.exclusion, undefined);
  });

  it('keeps DEST_MODULE_LOCATION where no distribution remaps it', () => {
    assert.equal(
      resolveDkmsConf(raw(base), { ...ctx, distro: 'gentoo' }).modules[0]?.destLocation,
      '/updates',
    );
    assert.equal(
      resolveDkmsConf(raw(base), { ...ctx, distro: 'fedora' }).modules[0]?.destLocation,
      '/extra',
    );
  });

  it('rejects what dkms rejects, naming each problem', () => {
    const bad = (
      values: Record<string, string | Record<number, string>>,
      pattern: RegExp,
    ): void => {
      assert.throws(
        () => resolveDkmsConf(raw(values), ctx),
        (e: unknown) =>
          e instanceof DkmsError &&
          e.exitCode === 8 &&
          e.message === 'Bad conf file.\nFile:  does not represent a valid dkms.conf file.' &&
          pattern.test(e.preface ?? ''),
      );
    };
    bad({ PACKAGE_VERSION: '1', DEST_MODULE_LOCATION: '/updates' }, /PACKAGE_NAME/);
    bad({ ...base, DEST_MODULE_LOCATION: '/usr/lib' }, /does not begin with/);
    bad({ ...base, DEST_MODULE_LOCATION: '/updates/../../etc' }, /"\.\."/);
    bad({ ...base, BUILT_MODULE_NAME: 'x.ko' }, /ends in '\.o' or '\.ko'/);
    bad({ ...base, DEST_MODULE_NAME: '../x' }, /not a module name/);
    bad({ ...base, AUTOINSTALL: 'maybe' }, /AUTOINSTALL/);
    bad({ ...base, BUILT_MODULE_LOCATION: '../../x' }, /BUILT_MODULE_LOCATION/);
  });

  it('evaluates BUILD_EXCLUSIVE_* and OBSOLETE_BY for the kernel', () => {
    const ex = (values: Record<string, string>): string | undefined =>
      resolveDkmsConf(raw({ ...base, ...values }), ctx).exclusion;
    assert.match(ex({ BUILD_EXCLUSIVE_KERNEL: '^5\\.' }) ?? '', /BUILD_EXCLUSIVE_KERNEL/);
    assert.equal(ex({ BUILD_EXCLUSIVE_KERNEL: '^6\\.1' }), undefined);
    assert.match(ex({ BUILD_EXCLUSIVE_KERNEL_MIN: '6.2' }) ?? '', /older/);
    assert.match(ex({ BUILD_EXCLUSIVE_KERNEL_MAX: '6.0' }) ?? '', /newer/);
    // dkms 3.4 turns OBSOLETE_BY into BUILD_EXCLUSIVE_KERNEL_MAX
    assert.match(ex({ OBSOLETE_BY: '6.1.0-1' }) ?? '', /BUILD_EXCLUSIVE_KERNEL_MAX="6\.1\.0-1"/);
    assert.equal(ex({ OBSOLETE_BY: '6.2' }), undefined);
    assert.match(ex({ BUILD_EXCLUSIVE_ARCH: '^arm' }) ?? '', /ARCH/);
    assert.equal(ex({ BUILD_EXCLUSIVE_CONFIG: 'CONFIG_I2C !CONFIG_NOPE' }), undefined);
    assert.match(
      ex({ BUILD_EXCLUSIVE_CONFIG: 'CONFIG_I2C !CONFIG_X' }) ?? '',
      /CONFIG_X is enabled/,
    );
  });

  it('excludes single modules by BUILD_EXCLUSIVE_*[i], the whole build only when none is left', () => {
    const two = {
      ...base,
      BUILT_MODULE_NAME: { 0: 'a', 1: 'b' },
      DEST_MODULE_LOCATION: { 0: '/updates', 1: '/updates' },
    };
    const some = resolveDkmsConf(raw({ ...two, BUILD_EXCLUSIVE_KERNEL: { 1: '^5\\.' } }), ctx);
    assert.deepEqual(
      some.modules.map((m) => m.excluded),
      [false, true],
    );
    assert.equal(some.exclusion, undefined);
    assert.equal(some.hasModuleExclusives, true);
    const none = resolveDkmsConf(
      raw({ ...two, BUILD_EXCLUSIVE_ARCH: { 0: '^arm', 1: '^arm' } }),
      ctx,
    );
    assert.match(none.exclusion ?? '', /BUILD_EXCLUSIVE_ARCH/);
    assert.equal(resolveDkmsConf(raw(two), ctx).hasModuleExclusives, false);
  });

  it('warns, as a strict read does, about zero modules and deprecated directives', () => {
    const conf = resolveDkmsConf(
      raw({ PACKAGE_NAME: 'm', PACKAGE_VERSION: '1', OBSOLETE_BY: '6.2', CLEAN: 'true' }),
      ctx,
    );
    assert.deepEqual(conf.warnings, [
      `Deprecated feature: OBSOLETE_BY (${ctx.confPath}): use BUILD_EXCLUSIVE_KERNEL_MAX instead`,
      'dkms.conf: Warning! Zero modules specified.',
    ]);
  });

  it('selects MAKE and PATCH entries per kernel, including the old substring forms', () => {
    const conf = resolveDkmsConf(
      raw({
        ...base,
        MAKE: { 0: 'make a', 1: 'make b' },
        MAKE_MATCH: { 1: '-47-' },
        PATCH: { 0: 'all.patch', 1: 'k50.patch', 2: 'k47.patch' },
        PATCH_MATCH: { 1: '-50-', 2: '-47-' },
        PATCH_amd64: 'old.patch',
        PATCH_i386: 'never.patch',
      }),
      ctx,
    );
    assert.equal(conf.makeCommand, 'make b');
    assert.deepEqual(conf.patches, ['all.patch', 'k47.patch', 'old.patch']);
  });
});
