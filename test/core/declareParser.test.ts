import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeclareOutput } from '../../src/core/declareParser.js';

describe('parseDeclareOutput', () => {
  it('parses scalars, arrays, ANSI-C strings and multi-line values', () => {
    const text = [
      'declare -- A="x\\"y\\$z\\`w\\\\v"',
      "declare -- B=$'line1\\nline2\\ttab\\r'",
      'declare -a C=([0]="a" [3]="b c" [4]="\\"q")',
      'declare -- D=""',
      'declare -x E="1"',
      'declare -- F="two',
      'lines"',
      'declare -- G',
    ].join('\n');
    const parsed = parseDeclareOutput(text);
    assert.equal(parsed.get('A')?.get(0), 'x"y$z`w\\v');
    assert.equal(parsed.get('B')?.get(0), 'line1\nline2\ttab\r');
    assert.deepEqual(
      [...(parsed.get('C') ?? [])],
      [
        [0, 'a'],
        [3, 'b c'],
        [4, '"q'],
      ],
    );
    assert.equal(parsed.get('D')?.get(0), '');
    assert.equal(parsed.get('E')?.get(0), '1');
    assert.equal(parsed.get('F')?.get(0), 'two\nlines');
    assert.equal(parsed.has('G'), false);
  });
});
