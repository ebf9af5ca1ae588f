import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createContext } from '../../src/core/context.js';
import { MemoryReporter } from '../../src/core/host.js';
import { defaultPaths } from '../../src/core/paths.js';
import { createJobRunner } from '../../src/daemon/kernels/jobRunner.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  makeRoots,
  skipWithoutHeaders,
  type Roots,
} from '../helpers/roots.js';

describe("dkmsd's job runner", { skip: skipWithoutHeaders }, () => {
  let roots: Roots;
  const saved = process.env['DKMS_BWRAP'];
  before(async () => {
    roots = makeRoots([K47, K50]);
    roots.addFixture('hello-1.0');
    assert.equal((await dkms(roots, ['add', 'hello/1.0'])).code, 0);
    // no bwrap: the default sandbox cannot be had and the build says so
    process.env['DKMS_BWRAP'] = '/nonexistent/bwrap';
  });
  after(() => {
    if (saved === undefined) delete process.env['DKMS_BWRAP'];
    else process.env['DKMS_BWRAP'] = saved;
    roots.cleanup();
  });

  it('logs what a successful build warned about, once per dkmsd run', async () => {
    const records: { level: number; msg: string; module?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => records.push(JSON.parse(line) as (typeof records)[number]),
      },
    );
    const ctx = createContext({
      paths: {
        ...defaultPaths(),
        dkmsTree: roots.tree,
        sourceTree: roots.src,
        installTree: roots.lib,
        confDir: roots.confDir,
      },
      framework: { try_sign_modules: 'false' },
      parallelJobs: 2,
      reporter: new MemoryReporter(),
    });
    const run = createJobRunner(ctx, logger);
    const signal = new AbortController().signal;
    for (const kernel of [K47, K50]) {
      const request = {
        module: 'hello',
        version: '1.0',
        kernel,
        arch: ARCH,
        priority: 0,
        units: 1,
      };
      const result = await run(request, 2, signal);
      assert.equal(result.status, 'installed', JSON.stringify(result));
    }
    const notices = records.filter((r) => r.msg.startsWith('Building without a sandbox'));
    assert.equal(notices.length, 1, JSON.stringify(records));
    assert.equal(notices[0]?.level, 40);
    assert.equal(notices[0]?.module, 'hello');
    assert.match(notices[0]?.msg ?? '', /bwrap is not installed/);
  });
});
