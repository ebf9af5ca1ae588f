import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPaths } from '../../src/core/paths.js';
import { DkmsError } from '../../src/core/errors.js';
import { silentReporter } from '../../src/core/host.js';
import { createContext } from '../../src/core/context.js';
import { runSteps } from '../../src/packaging/steps.js';

describe('runSteps', () => {
  let dir: string;
  const ctx = createContext({
    paths: defaultPaths(),
    framework: {},
    parallelJobs: 1,
    reporter: silentReporter,
  });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dkms-steps.'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copies trees keeping inner links, writes files with modes, sums files', async () => {
    const src = join(dir, 'hello-1.0');
    mkdirSync(src);
    writeFileSync(join(src, 'a.c'), 'int a;\n');
    writeFileSync(join(src, '.hidden'), 'x');
    symlinkSync('a.c', join(src, 'link.c'));
    await runSteps(ctx, [
      { kind: 'copyTree', from: src, to: join(dir, 'out/src'), skipHidden: true },
      {
        kind: 'writeFile',
        path: join(dir, 'out/DEBIAN/postinst'),
        content: '#!/bin/sh\n',
        mode: 0o755,
      },
      { kind: 'md5sums', root: join(dir, 'out'), skip: 'DEBIAN', path: join(dir, 'sums') },
    ]);
    assert.equal(statSync(join(dir, 'out/DEBIAN/postinst')).mode & 0o777, 0o755);
    assert.equal(statSync(join(dir, 'out')).mode & 0o777, 0o755);
    assert.equal(
      readFileSync(join(dir, 'sums'), 'utf8'),
      '1ccb9ebc08e51c65b99fa5f74657100a  src/a.c\n',
    );
    assert.throws(() => statSync(join(dir, 'out/src/.hidden')));
    assert.equal(readlinkSync(join(dir, 'out/src/link.c')), 'a.c');
  });

  it('stops at a failing tool with its command, status and output', async () => {
    await assert.rejects(
      runSteps(ctx, [
        {
          kind: 'run',
          file: 'sh',
          args: ['-c', 'echo "dpkg-deb: error: boom" >&2; exit 3'],
          cwd: dir,
          what: 'Building the Debian package',
          hint: 'try again',
        },
        { kind: 'writeFile', path: join(dir, 'never'), content: '' },
      ]),
      (error: unknown) =>
        error instanceof DkmsError &&
        error.exitCode === 6 &&
        /^Building the Debian package failed: sh -c .* exited with status 3\.\ndpkg-deb: error: boom$/.test(
          error.message,
        ) &&
        error.hint === 'try again',
    );
    assert.throws(() => statSync(join(dir, 'never')));
  });
});
