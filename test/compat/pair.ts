import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { K47, dkms, headersDir, makeRoots, type Roots, type RunOutput } from '../helpers/roots.js';
import { writeSource, type SourceFiles } from './sources.js';
import { as343 } from './wording343.js';
import { differences, evenedOut, listing, statusIn34Wording, treeLayout } from './snapshot.js';
import { runUpstream, type Upstream } from './upstream.js';

export interface PairOutput {
  upstream: RunOutput;
  ours: RunOutput;
}

const tail = (output: RunOutput): string =>
  `exit ${output.code}\n${(output.stdout + output.stderr).trim().split('\n').slice(-12).join('\n')}`;

/** Both sides of a step, for failure messages. */
export const describeOutputs = (step: string, out: PairOutput): string =>
  `${step}\n--- upstream: ${tail(out.upstream)}\n--- ours: ${tail(out.ours)}`;

/** Both exit with the same status (and upstream with `code`, when given). */
export function expectSame(step: string, out: PairOutput, code?: number): void {
  if (code !== undefined)
    assert.equal(out.upstream.code, code, describeOutputs(`upstream ${step}`, out));
  assert.equal(out.ours.code, out.upstream.code, describeOutputs(step, out));
}

/** stdout, stderr and exit status are the same on both sides (and upstream exits `code`). */
export function sameOutput(step: string, out: PairOutput, code: number): void {
  const message = describeOutputs(step, out);
  assert.equal(out.upstream.code, code, message);
  assert.equal(out.ours.code, out.upstream.code, message);
  assert.equal(out.ours.stdout, out.upstream.stdout, message);
  assert.equal(out.ours.stderr, out.upstream.stderr, message);
}

export function noDifferences(found: string[]): void {
  const message = `ours and Debian's dkms differ:\n${found.join('\n')}\n(evened out first: ${evenedOut()})`;
  assert.deepEqual(found, [], message);
}

/**
 * Two sandboxes with the same sources: one driven by Debian's dkms, one by ours. Neither runs
 * depmod (upstream would run it against the real /lib/modules).
 */
export class SandboxPair {
  readonly upstreamRoots: Roots = makeRoots([K47]);
  readonly oursRoots: Roots = makeRoots([K47]);

  constructor(private readonly upstream: Upstream) {}

  /** Copies a package's source into both source trees as `<module>-<version>`. */
  addSource(sourceDir: string, module: string, version: string): void {
    for (const roots of this.both())
      cpSync(sourceDir, join(roots.src, `${module}-${version}`), { recursive: true });
  }

  /** Writes a module source given as an object literal into both source trees. */
  writeSource(module: string, version: string, files: SourceFiles): void {
    for (const roots of this.both()) writeSource(join(roots.src, `${module}-${version}`), files);
  }

  /**
   * A copy of the kernel's config without CONFIG_MODULE_SIG_HASH in each sandbox, to pass as
   * `--config`: both sides then print the same signing line (upstream cannot sign in a sandbox).
   */
  unsignedConfigArgs(): { upstream: string[]; ours: string[] } {
    const text = readFileSync(join(headersDir(K47), 'include/config/auto.conf'), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('CONFIG_MODULE_SIG_HASH='))
      .join('\n');
    const [up, ours] = this.both().map((roots) => {
      const file = join(roots.root, 'unsigned.conf');
      writeFileSync(file, text);
      return [`--config=${file}`];
    });
    return { upstream: up ?? [], ours: ours ?? [] };
  }

  /**
   * The same command on both sides with the output made comparable: sandbox paths written
   * `<root>`, upstream's progress dots (one per 3 s) evened out.
   */
  runNormalized(args: string[]): Promise<PairOutput> {
    return this.runNormalizedEach(args, args);
  }

  /** runNormalized with a command line of each side's own (e.g. a path into its sandbox). */
  async runNormalizedEach(upArgs: string[], ourArgs: string[]): Promise<PairOutput> {
    const extra = this.unsignedConfigArgs();
    const [upstream, ours] = await Promise.all([
      runUpstream(this.upstream, this.upstreamRoots, [...upArgs, '--no-depmod', ...extra.upstream]),
      dkms(this.oursRoots, [...ourArgs, '--no-depmod', ...extra.ours]),
    ]);
    const even = (out: RunOutput, roots: Roots): RunOutput => {
      const clean = (text: string): string =>
        text
          .split(roots.root)
          .join('<root>')
          .replace(/\.\.\.\.+/g, '...');
      return { code: out.code, stdout: clean(out.stdout), stderr: clean(out.stderr) };
    };
    const up = even(upstream, this.upstreamRoots);
    return {
      upstream: { ...up, stdout: as343(up.stdout), stderr: as343(up.stderr) },
      ours: even(ours, this.oursRoots),
    };
  }

  /** A make.log of both sides made comparable: date, version, durations and sandbox paths. */
  makeLogs(relative: string): { upstream: string; ours: string } {
    const [upstream = '', ours = ''] = this.both().map((roots) =>
      readFileSync(join(roots.tree, relative), 'utf8')
        .split(roots.root)
        .join('<root>')
        .replace(/^DKMS \(dkms-[^)]*\)/, 'DKMS (<version>)')
        .replace(/^(DKMS .*\n).*\n/, '$1<date>\n')
        .replace(/^# elapsed time: .*$/gm, '# elapsed time: <time>')
        // make's own chatter interleaves differently from run to run, and whether a failing
        // make -jN still waits for other jobs depends on timing
        .replace(
          /^(make(\[\d+\])?: (Entering|Leaving) directory|make(\[\d+\])?: \*\*\* Waiting for unfinished jobs|Skipping BTF| {2}[A-Z]+ ).*\n/gm,
          '',
        ),
    );
    return { upstream, ours };
  }

  /** The same dkms command line in both sandboxes, at the same time. */
  async run(args: string[]): Promise<PairOutput> {
    const withOptions = [...args, '--no-depmod'];
    const [upstream, ours] = await Promise.all([
      runUpstream(this.upstream, this.upstreamRoots, withOptions),
      dkms(this.oursRoots, withOptions),
    ]);
    return { upstream, ours };
  }

  /** `dkms status ARGS` on both sides, upstream's annotations in 3.4 wording. */
  async status(args: string[] = []): Promise<PairOutput> {
    const out = await this.run(['status', ...args]);
    return {
      upstream: { ...out.upstream, stdout: statusIn34Wording(out.upstream.stdout) },
      ours: out.ours,
    };
  }

  /**
   * Everything that differs between the two sandboxes: the output and exit status of each
   * status command given, the install tree and the dkms tree layout.
   */
  async differences(statusCommands: string[][]): Promise<string[]> {
    const found: string[] = [];
    for (const args of statusCommands) {
      const { upstream, ours } = await this.status(args);
      const label = ['status', ...args].join(' ');
      if (upstream.stdout !== ours.stdout)
        found.push(
          `${label}: upstream says ${JSON.stringify(upstream.stdout)}, ours ${JSON.stringify(ours.stdout)}`,
        );
      if (upstream.code !== ours.code)
        found.push(`${label}: upstream exits ${upstream.code}, ours ${ours.code}`);
    }
    found.push(
      ...differences(
        'install tree',
        listing(this.upstreamRoots.lib, this.upstreamRoots.root),
        listing(this.oursRoots.lib, this.oursRoots.root),
      ),
      ...differences('dkms tree', treeLayout(this.upstreamRoots), treeLayout(this.oursRoots)),
    );
    return found;
  }

  both(): Roots[] {
    return [this.upstreamRoots, this.oursRoots];
  }

  cleanup(): void {
    for (const roots of this.both()) roots.cleanup();
  }
}

/**
 * A maker of sandbox pairs for one describe block, each cleaned up after it; `prepare` runs
 * on each new pair.
 */
export function pairMaker(
  upstream: Upstream | undefined,
  prepare: (pair: SandboxPair) => void = () => undefined,
): () => SandboxPair {
  const pairs: SandboxPair[] = [];
  after(() => pairs.forEach((pair) => pair.cleanup()));
  return () => {
    const pair = new SandboxPair(upstream as Upstream);
    pairs.push(pair);
    prepare(pair);
    return pair;
  };
}
