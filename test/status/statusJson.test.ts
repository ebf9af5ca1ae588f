import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  parseMakeLogHeader,
  STATUS_SCHEMA_VERSION,
  type StatusDocument,
} from '../../src/status/statusJson.js';
import {
  ARCH,
  K47,
  K50,
  dkms,
  makeRoots,
  type Roots,
  skipWithoutHeaders,
} from '../helpers/roots.js';
import { loadSchema, validate } from './jsonSchema.js';

const skip = skipWithoutHeaders;
const schema = loadSchema('dkms-status.schema.json');

describe('status JSON schema', () => {
  it('reads the kernel from both make.log headers (ours/3.0 and 3.4)', () => {
    assert.deepEqual(
      parseMakeLogHeader(`DKMS make.log for hello-1.0 for kernel ${K47} (x86_64)\nFri`),
      { kernel: K47, arch: 'x86_64' },
    );
    assert.deepEqual(
      parseMakeLogHeader(`DKMS (dkms-3.4.0) make.log for hello/1.0 for kernel ${K50} (aarch64)\n`),
      { kernel: K50, arch: 'aarch64' },
    );
    assert.equal(parseMakeLogHeader('random text'), undefined);
  });

  it('the test validator rejects documents that break the schema', () => {
    const good: StatusDocument = {
      schema: 'dkms-status',
      schemaVersion: STATUS_SCHEMA_VERSION,
      generator: 'x',
      paths: { dkmsTree: '/t', sourceTree: '/s', installTree: '/l' },
      entries: [
        {
          module: 'm',
          version: '1',
          kernel: null,
          arch: null,
          state: 'added',
          annotations: [],
          line: 'm/1: added',
          paths: { source: '/s/m-1', build: null },
          modules: [],
          lastBuild: null,
        },
      ],
    };
    assert.deepEqual(validate(schema, good), []);
    const bad = JSON.parse(JSON.stringify(good)) as Record<string, unknown> & {
      entries: Record<string, unknown>[];
    };
    bad['schemaVersion'] = 2;
    const entry = bad.entries[0] as Record<string, unknown>;
    entry['state'] = 'installing';
    delete entry['line'];
    entry['lastBuild'] = { result: 'success' };
    const errors = validate(schema, bad);
    for (const expected of [
      /schemaVersion/,
      /installing/,
      /missing line/,
      /lastBuild: matches 0 of oneOf/,
    ]) {
      assert.ok(
        errors.some((e) => expected.test(e)),
        `${String(expected)} not in ${errors.join('; ')}`,
      );
    }
  });
});

describe('dkms status --json on a real tree', { skip }, () => {
  let roots: Roots;
  let document: StatusDocument;
  let lines: string[];
  before(async () => {
    roots = makeRoots([K47, K50]);
    roots.addFixture('hello-1.0');
    roots.addFixture('broken-1.0');
    roots.addFixture('crlf-1.0');
    for (const [args, code] of [
      [['install', 'hello/1.0', '-k', K47], 0],
      [['build', 'hello/1.0', '-k', K50], 0],
      [['build', 'broken/1.0', '-k', K50], 10],
      [['add', 'crlf/1.0'], 0],
    ] as const) {
      const r = await dkms(roots, [...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    }
    // a module whose source disappeared
    mkdirSync(join(roots.tree, 'gone', '2.0'), { recursive: true });
    symlinkSync(join(roots.src, 'gone-2.0'), join(roots.tree, 'gone', '2.0', 'source'));
    // an installed module replaced behind dkms's back
    rmSync(join(roots.lib, K47, 'updates/dkms/hello.ko'));
    const json = await dkms(roots, ['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    document = JSON.parse(json.stdout) as StatusDocument;
    lines = (await dkms(roots, ['status'])).stdout.trimEnd().split('\n');
  });
  after(() => roots.cleanup());

  it('validates against docs/dkms-status.schema.json', () => {
    assert.deepEqual(validate(schema, document), []);
    assert.equal(document.paths.dkmsTree, roots.tree);
  });

  it('has one entry per status line, in order, with the line byte for byte', () => {
    assert.deepEqual(
      document.entries.map((e) => e.line),
      lines,
    );
    assert.deepEqual(
      document.entries.map((e) => `${e.module}/${e.version} ${e.kernel ?? '-'} ${e.state}`),
      [
        'broken/1.0 - added',
        'crlf/1.0 - added',
        'gone/2.0 - broken',
        `hello/1.0 ${K47} installed`,
        `hello/1.0 ${K50} built`,
      ],
    );
  });

  it('gives paths, modules, annotations and the last build with its make.log', () => {
    const installed = document.entries.find((e) => e.kernel === K47);
    assert.ok(installed);
    assert.deepEqual(installed.annotations, [
      { code: 'built-installed-differ', text: 'Differences between built and installed modules' },
    ]);
    assert.equal(installed.paths.source, join(roots.src, 'hello-1.0'));
    assert.equal(installed.paths.build, join(roots.tree, 'hello/1.0', K47, ARCH));
    assert.deepEqual(installed.modules, [
      {
        name: 'hello',
        built: join(roots.tree, 'hello/1.0', K47, ARCH, 'module/hello.ko'),
        installed: null,
      },
    ]);
    assert.equal(installed.lastBuild?.result, 'success');
    assert.equal(
      installed.lastBuild?.makeLog,
      join(roots.tree, 'hello/1.0', K47, ARCH, 'log/make.log'),
    );

    const built = document.entries.find((e) => e.kernel === K50);
    assert.equal(built?.modules[0]?.installed, null);
    assert.equal(built?.lastBuild?.kernel, K50);

    const failed = document.entries.find((e) => e.module === 'broken');
    assert.deepEqual(failed?.lastBuild && { ...failed.lastBuild, time: 'x' }, {
      result: 'failure',
      kernel: K50,
      arch: ARCH,
      makeLog: join(roots.tree, `broken/1.0/.failed-${K50}-${ARCH}.make.log`),
      time: 'x',
    });
    assert.equal(document.entries.find((e) => e.module === 'crlf')?.lastBuild, null);
  });

  it('honours -k like the text output', async () => {
    const r = await dkms(roots, ['status', '--json', 'hello', '-k', K50]);
    const filtered = JSON.parse(r.stdout) as StatusDocument;
    assert.deepEqual(
      filtered.entries.map((e) => e.line),
      [`hello/1.0, ${K50}, ${ARCH}: built`],
    );
  });
});
