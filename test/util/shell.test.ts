import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { shellQuote } from '../../src/util/shell.js';

describe('shellQuote: one word for sh and bash', () => {
  const words = [
    '',
    'plain',
    "it's",
    "''",
    'a b\tc\nd',
    '$HOME `id` $(id) \\ "q" * ? [a] ~ ; & | < > #',
    '-rf',
  ];
  for (const shell of ['sh', 'bash']) {
    it(`${shell} reads back every word as it was`, () => {
      for (const word of words) {
        const out = execFileSync(shell, ['-c', `printf %s ${shellQuote(word)}`], {
          encoding: 'utf8',
        });
        assert.equal(out, word);
      }
    });
  }
  it('drops NUL, which no argument can carry', () => {
    assert.equal(shellQuote('a\0b'), "'ab'");
  });
});
