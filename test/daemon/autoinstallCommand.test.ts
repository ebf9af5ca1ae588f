import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertTree } from '../helpers/assertTree.js';
import { K47, dkms, haveHeaders, makeRoots, type Roots } from '../helpers/roots.js';

/** The lines of `text` from `start` up to (not including) the next "Autoinstall of module". */
function block(text: string, start: string): string {
  const from = text.indexOf(start);
  assert.notEqual(from, -1, `no "${start}" in:\n${text}`);
  const next = text.indexOf('Autoinstall of module', from + start.length);
  return text.slice(from, next === -1 ? undefined : next);
}

describe(
  'dkms autoinstall on the build queue',
  { skip: !haveHeaders(K47) && 'no headers for 6.1.0-47-amd64' },
  () => {
    let roots: Roots;
    before(() => {
      roots = makeRoots([K47]);
    });
    after(() => roots.cleanup());

    it('builds in parallel yet prints each job whole, in plan order, and fails with 11', async () => {
      for (const fixture of ['depsb-1.0', 'depsa-1.0', 'hello-1.0', 'broken-1.0']) {
        roots.addFixture(fixture);
        assert.equal((await dkms(roots, ['add', fixture.replace(/-(?=[^-]+$)/, '/')])).code, 0);
      }
      const result = await dkms(roots, ['autoinstall', '-k', K47, '-j', '2']);
      assert.equal(result.code, 11, result.stderr);
      const out = result.stdout;
      const order = [...out.matchAll(/^Autoinstall of module (\w+)\/1\.0 for kernel/gm)].map(
        (m) => m[1],
      );
      // dkms 3.4.3's passes: what depends on nothing first (tree order), then its dependents
      assert.deepEqual(order, ['broken', 'depsa', 'hello', 'depsb']);
      // Each job's lines sit together: no other module's build output inside its block.
      for (const module of ['depsa', 'hello', 'depsb']) {
        const lines = block(out, `Autoinstall of module ${module}/1.0`);
        assert.match(lines, new RegExp(`Installing \\S*/${module}\\.ko`));
        for (const other of ['depsa', 'hello', 'depsb', 'broken'].filter((m) => m !== module)) {
          assert.doesNotMatch(
            lines,
            new RegExp(`Installing \\S*/${other}\\.ko`),
            `${other} inside ${module}'s output`,
          );
        }
      }
      assert.match(
        result.stderr,
        /Error! Bad return status for module build on kernel: 6\.1\.0-47-amd64[\s\S]*Consult \S*broken\/1\.0\/build\/make\.log/,
      );
      assert.match(
        out,
        /Autoinstall on 6\.1\.0-47-amd64 succeeded for module\(s\) depsa hello depsb\./,
      );
      assert.match(out, /Autoinstall on 6\.1\.0-47-amd64 failed for module\(s\) broken\(10\)\./);
      const tree = assertTree(roots);
      for (const module of ['depsa', 'hello', 'depsb']) tree.installed(module, '1.0', K47);
      tree.notInstalled('broken', K47);
    });
  },
);
