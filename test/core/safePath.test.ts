import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DkmsError } from '../../src/core/errors.js';
import { isInside, joinUnder, resolveUnder } from '../../src/core/safePath.js';
import { StateTree } from '../../src/core/stateTree.js';

const badPath = (e: unknown): boolean =>
  e instanceof DkmsError && e.code === 'BAD_PATH' && e.exitCode === 5;

describe('safePath: joins that refuse to leave their root', () => {
  it('isInside is strict and lexical', () => {
    assert.equal(isInside('/a', '/a/b'), true);
    assert.equal(isInside('/a', '/a/..b'), true);
    assert.equal(isInside('/a', '/a'), false);
    assert.equal(isInside('/a', '/ab'), false);
    assert.equal(isInside('/a', '/a/../b'), false);
  });

  it('joinUnder takes only single components', () => {
    assert.equal(joinUnder('/var/lib/dkms', 'hello', '1.0'), '/var/lib/dkms/hello/1.0');
    for (const part of ['', '.', '..', 'a/b', '../../etc', 'a\0b'])
      assert.throws(() => joinUnder('/var/lib/dkms', 'hello', part), badPath, JSON.stringify(part));
  });

  it('resolveUnder keeps dkms.conf locations below their directory', () => {
    assert.equal(resolveUnder('/b', 'src/x.ko', 'BUILT_MODULE_LOCATION'), '/b/src/x.ko');
    assert.equal(
      resolveUnder('/lib/6.1', '/updates/dkms', 'DEST_MODULE_LOCATION'),
      '/lib/6.1/updates/dkms',
    );
    assert.equal(resolveUnder('/b', '', 'X'), '/b');
    for (const path of ['../x', 'a/../../x', '/kernel/../../../etc'])
      assert.throws(() => resolveUnder('/b', path, 'X'), badPath, path);
  });

  it('the state tree builds every path through it', () => {
    const tree = new StateTree('/var/lib/dkms', '/usr/src');
    const ok = { module: 'hello', version: '1.0', kernel: '6.1.0-47-amd64', arch: 'x86_64' };
    assert.equal(tree.sourceDir(ok), '/usr/src/hello-1.0');
    assert.equal(
      tree.kernelLink('hello', ok.kernel, ok.arch),
      '/var/lib/dkms/hello/kernel-6.1.0-47-amd64-x86_64',
    );
    for (const bad of [
      { ...ok, version: '../../../../tmp/victim' },
      { ...ok, module: '..' },
      { ...ok, kernel: '../x' },
      { ...ok, arch: 'a/b' },
    ]) {
      assert.throws(() => tree.buildDir(bad), badPath, JSON.stringify(bad));
      if (bad.version === ok.version)
        assert.throws(
          () => tree.kernelLink(bad.module, bad.kernel, bad.arch),
          badPath,
          JSON.stringify(bad),
        );
    }
    assert.throws(() => tree.sourceDir({ module: 'hello', version: '../../x' }), badPath);
  });
});
