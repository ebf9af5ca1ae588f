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
    assert.deepEqual(plan.unsatisfied, [{ module: 'needs', version: '1', missing: ['missing'] }]);
  });
});
