import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAutoinstall, type AutoinstallCandidate } from '../../src/engine/autoinstallPlan.js';

const c = (
  module: string,
  version: string,
  extra: Partial<AutoinstallCandidate> = {},
): AutoinstallCandidate => ({
  module,
  version,
  autoinstall: true,
  buildDepends: [],
  installed: false,
  ...extra,
});

describe('planAutoinstall', () => {
  it('orders by BUILD_DEPENDS and picks the newest version', () => {
    const plan = planAutoinstall([
      c('b', '1.0', { buildDepends: ['a'] }),
      c('a', '1.0'),
      c('a', '1.10'),
      c('a', '1.9'),
    ]);
    assert.deepEqual(plan.jobs, [
      { module: 'a', version: '1.10', after: [] },
      { module: 'b', version: '1.0', after: ['a'] },
    ]);
  });

  it('reports installed, skipped, non-autoinstall, invalid and unsatisfied modules', () => {
    const plan = planAutoinstall([
      c('done', '1', { installed: true }),
      c('old', '1', { exclusion: 'OBSOLETE_BY' }),
      c('manual', '1', { autoinstall: false }),
      c('bad', '1', { confError: 'Bad conf file' }),
      c('needs', '1', { buildDepends: ['missing', 'done', 'old'] }),
    ]);
    assert.deepEqual(plan.jobs, []);
    assert.deepEqual(plan.alreadyInstalled, [{ module: 'done', version: '1' }]);
    assert.deepEqual(plan.skipped, [{ module: 'old', version: '1', reason: 'OBSOLETE_BY' }]);
    assert.deepEqual(plan.invalid, [{ module: 'bad', version: '1', reason: 'Bad conf file' }]);
    // a dependency DKMS does not know defers the module (dkms 3.4.3), it does not fail it
    assert.deepEqual(plan.unsatisfied, []);
    assert.deepEqual(plan.deferred, [{ module: 'needs', version: '1', missing: ['missing'] }]);
  });

  it('fails a module whose dependency DKMS knows but does not install, as dkms 3.4.3', () => {
    const plan = planAutoinstall([
      c('manual', '1', { autoinstall: false }),
      c('bad', '1', { confError: 'Bad conf file' }),
      c('x', '1', { buildDepends: ['manual'] }),
      c('y', '1', { buildDepends: ['bad', 'unknown'] }),
    ]);
    assert.deepEqual(plan.jobs, []);
    assert.deepEqual(plan.unsatisfied, [
      { module: 'x', version: '1', missing: ['manual'] },
      { module: 'y', version: '1', missing: ['bad'] },
    ]);
    assert.deepEqual(plan.deferred, []);
  });

  it('attempts in passes, tree order within each, a skip satisfying its dependents', () => {
    const plan = planAutoinstall([
      c('d', '1', { buildDepends: ['c'] }),
      c('c', '1', { buildDepends: ['a'] }),
      c('b', '1', { buildDepends: ['excl'] }),
      c('a', '1'),
      c('excl', '1', { exclusion: 'BUILD_EXCLUSIVE' }),
    ]);
    // pass 1: a, excl (skipped); pass 2: b, c; pass 3: d
    assert.deepEqual(plan.jobs, [
      { module: 'a', version: '1', after: [] },
      { module: 'b', version: '1', after: [] },
      { module: 'c', version: '1', after: ['a'] },
      { module: 'd', version: '1', after: ['c'] },
    ]);
    assert.deepEqual(plan.skipped, [{ module: 'excl', version: '1', reason: 'BUILD_EXCLUSIVE' }]);
  });
});
