import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bashEvaluate, scalar } from '../../src/core/bashEval.js';
import { DKMS_CONF_VARIABLES } from '../../src/conf/directives.js';

const dir = mkdtempSync(join(tmpdir(), 'bash-eval.'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const conf = (text: string): string => {
  const path = join(dir, `c${n++}.conf`);
  writeFileSync(path, text);
  return path;
};
const evaluate = async (text: string, variables: Record<string, string> = {}) => {
  const [result] = await bashEvaluate([
    { files: [conf(text)], variables, whitelist: [...DKMS_CONF_VARIABLES, 'MAKE_*', 'PATCH_*'] },
  ]);
  assert.ok(result);
  return result;
};

describe('bashEvaluate', () => {
  it('evaluates batches larger than one bash command line may be (E2BIG)', async () => {
    // 700 requests with long paths: one script per CPU would pass the kernel's 128 KiB limit on
    // one argument; texts given inline add 1 MiB more
    const file = conf('PACKAGE_NAME="$module"\n');
    const text = `PACKAGE_NAME="$module"\n#${'x'.repeat(4000)}\n`;
    const requests = Array.from({ length: 700 }, (_, i) => ({
      files: [file],
      variables: { module: `m${i}`, dkms_tree: `/${'d'.repeat(300)}` },
      whitelist: ['PACKAGE_NAME'],
      texts: i % 2 ? [text] : undefined,
    }));
    const results = await bashEvaluate(requests);
    assert.deepEqual(
      results.map((r) => scalar(r, 'PACKAGE_NAME')),
      requests.map((r) => r.variables.module),
    );
  });

  it('returns whitelisted scalars and sparse arrays only', async () => {
    const r = await evaluate(
      'PACKAGE_NAME=foo\nHELPER=x\nBUILT_MODULE_NAME[0]=a\nBUILT_MODULE_NAME[3]=d\nf() { :; }\n',
    );
    assert.equal(scalar(r, 'PACKAGE_NAME'), 'foo');
    assert.equal(r.values.has('HELPER'), false);
    assert.deepEqual(
      [...(r.values.get('BUILT_MODULE_NAME') ?? [])],
      [
        [0, 'a'],
        [3, 'd'],
      ],
    );
  });

  it('exposes dkms variables and evaluates real shell', async () => {
    const r = await evaluate(
      'PACKAGE_NAME=m\ncase "$kernelver" in 6.*) MAKE[0]="make K=$(echo $kernelver | cut -d. -f1)";; esac\nPACKAGE_VERSION=$((1+2))\n',
      { kernelver: '6.1.0-47-amd64' },
    );
    assert.equal(scalar(r, 'MAKE'), 'make K=6');
    assert.equal(scalar(r, 'PACKAGE_VERSION'), '3');
  });

  it('keeps values with quotes, dollars, backslashes and newlines intact', async () => {
    const r = await evaluate(`PRE_BUILD='a "b" $c \\d'\nPOST_BUILD=$'x\\ny\\tz'\n`);
    assert.equal(scalar(r, 'PRE_BUILD'), 'a "b" $c \\d');
    assert.equal(scalar(r, 'POST_BUILD'), 'x\ny\tz');
  });

  it('returns the old MAKE_<text> and PATCH_<text> forms', async () => {
    const r = await evaluate('MAKE_smp="make smp"\nPATCH_amd64=p.patch\nMAKE_MATCH[0]=x\n');
    assert.equal(scalar(r, 'MAKE_smp'), 'make smp');
    assert.equal(scalar(r, 'PATCH_amd64'), 'p.patch');
  });

  it('strips CR from CRLF files', async () => {
    const r = await evaluate(
      'PACKAGE_NAME="crlf"\r\nif true; then\r\n  PACKAGE_VERSION=1.0\r\nfi\r\n',
    );
    assert.equal(scalar(r, 'PACKAGE_NAME'), 'crlf');
    assert.equal(scalar(r, 'PACKAGE_VERSION'), '1.0');
    assert.equal(r.failure, undefined);
  });

  it("passes bash's syntax error on and keeps what was set before it, as dkms's source", async () => {
    const r = await evaluate('PACKAGE_NAME=x\nif [ 1 = 1 ]; then\nPACKAGE_VERSION=1\n');
    assert.equal(r.failure, undefined);
    assert.match(r.stderr, /: line 4: syntax error: unexpected end of file\n$/);
    assert.equal(scalar(r, 'PACKAGE_NAME'), 'x');
    assert.equal(scalar(r, 'PACKAGE_VERSION'), undefined);
  });

  it('reports a conf that exits', async () => {
    const r = await evaluate('PACKAGE_NAME=x\nexit 3\n');
    assert.match(r.failure ?? '', /exited/);
  });

  it('isolates requests from each other and from the environment', async () => {
    process.env['DKMS_TEST_LEAK'] = 'leak';
    const a = conf('PACKAGE_NAME=a\nSECRET=1\nAUTOINSTALL=yes\n');
    const b = conf('PACKAGE_NAME="b${SECRET}${DKMS_TEST_LEAK}"\n');
    const results = await bashEvaluate(
      Array.from({ length: 20 }, (_, i) => ({
        files: [i % 2 ? b : a],
        variables: {},
        whitelist: DKMS_CONF_VARIABLES,
      })),
    );
    assert.equal(results.length, 20);
    results.forEach((r, i) => assert.equal(scalar(r, 'PACKAGE_NAME'), i % 2 ? 'b' : 'a'));
    assert.equal(scalar(results[1]!, 'AUTOINSTALL'), undefined);
  });

  it('sources override files after the conf, skipping missing ones', async () => {
    const main = conf('PACKAGE_NAME=a\nAUTOINSTALL=yes\n');
    const override = conf('AUTOINSTALL=no\n');
    const [r] = await bashEvaluate([
      {
        files: [main, join(dir, 'missing.conf'), override],
        variables: {},
        whitelist: DKMS_CONF_VARIABLES,
      },
    ]);
    assert.equal(scalar(r!, 'AUTOINSTALL'), 'no');
  });
});
