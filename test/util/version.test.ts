import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { bashRegexMatch, compareVersions, compareVer, ver } from '../../src/util/version.js';

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env['DKMS_TEST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

/** Version-like strings: digit runs (with leading zeros), letters, ~ . - + _ and file suffixes. */
function generator(random: () => number): () => string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const pieces = [
    () => String(Math.floor(random() * 12)),
    () => String(Math.floor(random() * 3000)),
    () => `0${Math.floor(random() * 10)}`,
    () => pick(['a', 'b', 'rc', 'x', 'v', 'V', 'Z', 'git', 'beta', 'amd', 'el']),
    () => pick(['.', '.', '.', '-', '-', '~', '+', '_', ':']),
    () => pick(['.tar.gz', '.x', '.rc1', '~rc', '.~', '.a~b', '.tgz', '.0', '.ko']),
  ];
  return () => {
    // No leading '.': gnulib since 2023 never takes a whole name as its suffix, the sort of
    // coreutils 9.1 does (".a" vs ".0"); no module version or kernel release starts with one.
    let text = random() < 0.15 ? pick(['v', '~', '-', '_', '']) : '';
    const length = 1 + Math.floor(random() * 7);
    for (let i = 0; i < length; i++) text += pick(pieces)();
    return text.startsWith('.') ? `1${text}` : text;
  };
}

const sortV = (lines: readonly string[]): string[] =>
  execFileSync('sort', ['-V'], { input: `${lines.join('\n')}\n`, env: { LC_ALL: 'C' } })
    .toString()
    .split('\n')
    .slice(0, -1);

describe('compareVersions is GNU sort -V', () => {
  it('orders the cases the issue names as sort -V does', () => {
    const pairs: [string, string][] = [
      ['2.1.rc3', '2.1.1'],
      ['1.x', '1.2'],
      ['v2', '1'],
      ['1.0~rc1', '1.0'],
      ['1.0', '1.0.tar.gz'],
      ['6.12.0-0.rc3.fc42.x86_64+debug', '6.12.0-0.rc3.fc42.x86_64'],
      ['1.01', '1.1'],
      ['', 'a'],
      ['.a', 'a'],
    ];
    for (const [a, b] of pairs) {
      const expected = sortV([a, b]);
      const ours = [a, b].sort(compareVersions);
      assert.deepEqual(ours, expected, `${a} vs ${b}`);
      assert.deepEqual([b, a].sort(compareVersions), expected, `${b} vs ${a}`);
    }
  });

  it(`agrees with the real sort -V on generated pairs and lists (seed ${seed})`, (t) => {
    t.diagnostic(`seed ${seed} (rerun with DKMS_TEST_SEED=${seed})`);
    const next = generator(seeded(seed));
    const pairs = Array.from({ length: 400 }, () => [next(), next()] as const);
    // One bash for all pairs: each pair is sorted by its own `sort -V`.
    const script =
      'while IFS=$\'\\t\' read -r a b; do printf \'%s\\n%s\\n\' "$a" "$b" | sort -V | head -n1; done';
    const firsts = execFileSync('bash', ['-c', script], {
      input: `${pairs.map(([a, b]) => `${a}\t${b}`).join('\n')}\n`,
      env: { LC_ALL: 'C', PATH: process.env['PATH'] },
    })
      .toString()
      .split('\n');
    const wrong = pairs.filter(([a, b], i) => {
      const first = compareVersions(a, b) <= 0 ? a : b;
      return first !== firsts[i];
    });
    assert.deepEqual(wrong, [], `seed ${seed}`);
    const list = pairs.flat();
    assert.deepEqual([...list].sort(compareVersions), sortV(list), `seed ${seed}`);
  });
});

describe("ver: upstream's VER() padding, for the call sites that use it", () => {
  it('pads numbers to three digits as the sed script does', () => {
    assert.equal(ver('2.6.9-1cvs200409091247'), '002.006.009-001cvs200409091247');
    assert.equal(ver('6.1.0-47-amd64'), '006.001.000-047-amd064');
  });

  it(`agrees with upstream's sed on generated strings (seed ${seed})`, () => {
    const next = generator(seeded(seed + 1));
    const lines = Array.from({ length: 300 }, next).filter((line) => !line.includes('\n'));
    const sed = execFileSync(
      'sed',
      [
        '-e',
        's:\\([^0-9]\\)\\([0-9]\\):\\1 \\2:g',
        '-e',
        's:\\([0-9]\\)\\([^0-9]\\):\\1 \\2:g',
        '-e',
        's:\\(.*\\): \\1 :',
        '-e',
        's: \\([0-9]\\) : 00\\1 :g',
        '-e',
        's: \\([0-9][0-9]\\) : 0\\1 :g',
        '-e',
        's: ::g',
      ],
      { input: `${lines.join('\n')}\n`, env: { LC_ALL: 'C' } },
    )
      .toString()
      .split('\n');
    lines.forEach((line, i) => assert.equal(ver(line), sed[i], `${line} (seed ${seed})`));
  });

  it('compares padded strings byte-wise, as [[ a > b ]] does in the C locale', () => {
    assert.equal(compareVer('6.1.0-50-amd64', '6.1.0-47-amd64'), 1);
    assert.equal(compareVer('6.1', '6.1.0'), -1);
    assert.equal(compareVer('1.0', '1.0'), 0);
    // Where VER and sort -V disagree: numbers of four digits or more are not padded.
    assert.equal(compareVer('1000', '999'), -1);
    assert.equal(compareVersions('1000', '999'), 1);
  });
});

describe('bashRegexMatch', () => {
  it('matches unanchored ERE with POSIX classes', () => {
    assert.equal(bashRegexMatch('^6\\.1', '6.1.0-47-amd64'), true);
    assert.equal(bashRegexMatch('-50-', '6.1.0-47-amd64'), false);
    assert.equal(bashRegexMatch('^[[:digit:]]+\\.', '6.1'), true);
    assert.equal(bashRegexMatch('([', 'x'), false);
  });
});
