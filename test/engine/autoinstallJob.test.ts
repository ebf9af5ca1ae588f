import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createContext } from '../../src/core/context.js';
import { MemoryReporter } from '../../src/core/host.js';
import { runAutoinstallJob } from '../../src/engine/autoinstall.js';
import { writeModule } from '../compat/sources.js';
import { assertTree } from '../helpers/assertTree.js';
import {
  ARCH,
  K47,
  dkms,
  makeRoots,
  sandboxPaths,
  skipWithoutHeaders,
  type Roots,
} from '../helpers/roots.js';

describe(
  "an autoinstall job (dkmsd's and dkms autoinstall's) rebuilds BUILD_DEPENDS_REBUILD dependants",
  { skip: skipWithoutHeaders },
  () => {
    let roots: Roots;
    before(() => {
      roots = makeRoots([K47]);
    });
    after(() => roots.cleanup());
    const add = (name: string, version: string, extra = ''): void =>
      writeModule(roots.src, name, version, extra);

    it('after installing a new version of their dependency, without depmod lines (dkmsd)', async () => {
      add('base', '1.0');
      add('dep', '1.0', 'BUILD_DEPENDS=("base")\nBUILD_DEPENDS_REBUILD=yes\n');
      for (const mv of ['base/1.0', 'dep/1.0']) {
        const r = await dkms(roots, ['install', mv, '-k', K47, '--no-depmod']);
        assert.equal(r.code, 0, r.stderr + r.stdout);
      }
      add('base', '2.0');
      assert.equal((await dkms(roots, ['add', 'base/2.0'])).code, 0);
      const reporter = new MemoryReporter();
      const ctx = createContext({
        paths: sandboxPaths(roots),
        framework: { try_sign_modules: 'false' },
        parallelJobs: 2,
        reporter,
        depmod: false,
      });
      const result = await runAutoinstallJob(ctx, { module: 'base', version: '2.0' }, K47, ARCH);
      const said = reporter.lines.map((line) => line.text).join('\n');
      assert.equal(result.status, 'installed', said);
      assert.match(said, /Rebuilding module dep\/1\.0 due to updated dependencies/);
      assert.doesNotMatch(said, /Running depmod/);
      const recorded = join(roots.tree, 'dep/1.0', K47, ARCH, '.dep_base');
      assert.equal(readFileSync(recorded, 'utf8'), '2.0\n');
      assertTree(roots).installed('dep', '1.0', K47);
    });
  },
);
