import assert from 'node:assert/strict';
import { chmodSync, cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeBwrap } from '../../src/core/sandbox.js';
import { fetchUpstream, type Upstream } from '../compat/upstream.js';
import { ARCH, K47, dkms, makeRoots, type Roots, skipWithoutHeaders } from '../helpers/roots.js';

/**
 * The Debian corpus packages (test/../shared corpus) that build for 6.1.0-47-amd64 today,
 * but lttng-modules (2 minutes) and jool (1 minute): bench/sandbox.sh builds those too.
 */
const PACKAGES = [
  'acpi-call-dkms',
  'adv-17v35x-dkms',
  'apfs-dkms',
  'bbswitch-dkms',
  'ddcci-dkms',
  'dm-writeboost-dkms',
  'dpdk-kmods-dkms',
  'falcosecurity-scap-dkms',
  'iptables-netflow-dkms',
  'langford-dkms',
  'lime-forensics-dkms',
  'nat-rtsp-dkms',
  'openrazer-driver-dkms',
  'rtpengine-kernel-dkms',
  'tp-smapi-dkms',
  'v4l2loopback-dkms',
  'vpoll-dkms',
  'xtrx-dkms',
];

const bwrapHere = await probeBwrap('bwrap');
let skip: string | false =
  skipWithoutHeaders ||
  (process.getuid?.() !== 0 && 'not root: the build user needs root') ||
  (!bwrapHere.ok && `bwrap cannot run here: ${bwrapHere.why}`);
let upstream: Upstream | undefined;
if (!skip) {
  const fetched = await fetchUpstream(PACKAGES);
  if ('skip' in fetched) skip = fetched.skip;
  else upstream = fetched.upstream;
}

describe('every corpus package builds in the sandbox, as the unprivileged user', { skip }, () => {
  let roots: Roots;
  before(() => {
    roots = makeRoots([K47]);
    // a tree the build user can reach, as /var/lib/dkms and /usr/src are
    chmodSync(roots.root, 0o755);
  });
  after(() => roots.cleanup());

  for (const deb of PACKAGES) {
    it(deb, async () => {
      const source = upstream?.sources.get(deb);
      assert.ok(source, `${deb} was not fetched`);
      const copy = join(roots.src, basename(source));
      cpSync(source, copy, { recursive: true });
      const added = await dkms(roots, ['add', copy]);
      assert.equal(added.code, 0, added.stderr);
      const ref = /\/tree\/([^/]+)\/([^/]+)\/source/.exec(added.stdout);
      assert.ok(ref, added.stdout);
      const [, module = '', version = ''] = ref;
      const r = await dkms(roots, ['build', `${module}/${version}`, '-k', K47, '--verbose']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /in the sandbox \(uid 65534\)/);
      const status = await dkms(roots, ['status', `${module}/${version}`]);
      assert.equal(status.stdout, `${module}/${version}, ${K47}, ${ARCH}: built\n`);
    });
  }
});
