import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixturesDir, repoRoot, run } from '../helpers/roots.js';
import {
  APT_ARCHIVES,
  Container,
  containerSkipReason,
  ensureRootTarball,
  ROOT_TARBALL,
} from './helpers/container.js';
import { buildDeb } from './helpers/deb.js';

/*
 * dkms-ts as a user gets it: our .deb installed with apt in a Debian 13 container booted with
 * systemd, Debian's own *-dkms packages and kernel headers, reboots, purges; then the module
 * loads in a real kernel under qemu. Minutes, not seconds: CI runs it (scripts/test-all.sh);
 * DKMS_TS_SYSTEM_TESTS=0 skips it. The transcript and a summary for the notes are left in
 * $DKMS_TS_SYSTEM_ARTIFACTS (default /var/tmp/dkms-ts-system-last).
 */
const skip = containerSkipReason();
const artifacts = process.env['DKMS_TS_SYSTEM_ARTIFACTS'] ?? '/var/tmp/dkms-ts-system-last';
const MODULES = ['acpi-call/1.2.2', 'v4l2loopback/0.15.0', 'vpoll/0.1.1'];
const K61 = '6.1.0-47-amd64';

const work = skip ? '' : mkdtempSync('/var/tmp/dkms-ts-system.');
const root = join(work, 'root');
const report = join(artifacts, 'report.md');
let container: Container;
let bootSkip: string | undefined;
let older = '';
let newer = '';
let deb = '';

const note = (title: string, text: string): void =>
  appendFileSync(report, `## ${title}\n\n\`\`\`\n${text.trim()}\n\`\`\`\n\n`);

/** `dkms status` as module/version -> kernels it is installed for. */
async function installedFor(): Promise<Map<string, string[]>> {
  const status = await container.exec('dkms status', { quiet: true });
  const map = new Map<string, string[]>();
  for (const line of status.output.split('\n')) {
    const m = /^([^,]+), ([^,]+), [^:]+: installed/.exec(line);
    if (m?.[1] && m[2]) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

/** apt-get in the container; its output is also the transcript the notes quote. */
async function apt(args: string, timeoutMs = 1_200_000): Promise<string> {
  const result = await container.exec(
    `apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends ${args}`,
    { timeoutMs },
  );
  assert.equal(result.code, 0, `apt-get ${args} failed:\n${result.output.slice(-4000)}`);
  return result.output;
}

/** Our hooks' lines from an apt transcript. */
const hookLines = (output: string): string =>
  output
    .split('\n')
    .filter((line) =>
      /^(Setting up (dkms|linux-headers|linux-image|.*-dkms)|\/etc\/kernel\/.*dkms:|dkms|dkmsd| {2}log: |Removing |Deleting |Module |Installing new version of config file|Created symlink)/.test(
        line,
      ),
    )
    .join('\n');

/** The journal of dkmsd for the current boot, one message per line. */
const journal = async (extra = ''): Promise<string> =>
  (await container.exec(`journalctl -u dkmsd -b -o cat --no-pager ${extra}`, { quiet: true }))
    .output;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

before(async () => {
  if (skip) return;
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(report, '# dkms-ts system test: one run\n\n');
  const transcript = join(artifacts, 'transcript.log');
  const log = (text: string): void => appendFileSync(transcript, `${text}\n`);
  deb = await buildDeb(join(work, 'out'));
  ensureRootTarball(log);
  mkdirSync(root);
  const unpacked = await run('tar', ['-C', root, '-xf', ROOT_TARBALL]);
  assert.equal(unpacked.code, 0, unpacked.stderr);
  cpSync(deb, join(root, 'root', 'dkms-ts.deb'));
  cpSync(join(fixturesDir, 'broken-1.0'), join(root, 'usr/src/broken-1.0'), { recursive: true });
  cpSync(join(repoRoot, 'examples/dkms-hello-1.0'), join(root, 'usr/src/dkms-hello-1.0'), {
    recursive: true,
  });
  container = new Container(root, transcript, join(artifacts, 'console.log'));
  try {
    await container.boot();
  } catch (error) {
    bootSkip = `systemd-nspawn cannot boot a container here: ${String(error).slice(0, 300)}`;
    return;
  }
  const update = await container.exec('apt-get update -q', { timeoutMs: 300_000 });
  if (update.code !== 0 || /^(W|E): .*(Failed to fetch|Could not resolve)/m.test(update.output))
    bootSkip = `Debian's archive is not reachable from the container: ${update.output.slice(-300)}`;
});

after(async () => {
  if (skip) return;
  await container?.poweroff();
  if (process.env['DKMS_TS_SYSTEM_KEEP'] !== '1') rmSync(work, { recursive: true, force: true });
});

describe('dkms-ts on Debian 13 under systemd', { skip, timeout: 3_600_000 }, () => {
  it('installs over Debian dkms and keeps its tree working', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    await apt('install dkms vpoll-dkms');
    assert.match((await container.exec('dkms status')).output, /^vpoll\/0\.1\.1: added$/m);
    // bubblewrap as apt's default Recommends would bring it: builds run sandboxed under dkmsd.service
    const ours = await apt('install /root/dkms-ts.deb bubblewrap');
    note('apt-get install /root/dkms-ts.deb (over Debian dkms 3.2.2)', hookLines(ours));
    assert.match(ours, /Removing dkms /);
    const status = await container.exec("dkms status; dpkg-query -W -f='${Status}' dkms-ts");
    assert.match(status.output, /^vpoll\/0\.1\.1: added$/m);
    assert.match(status.output, /install ok installed/);
    const units = await container.exec(
      'systemctl is-enabled dkmsd.socket dkmsd.service; systemctl is-active dkmsd.socket',
    );
    assert.equal(units.output.trim(), 'enabled\nenabled\nactive');
  });

  it('adds Debian *-dkms packages through /usr/lib/dkms/common.postinst', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    note(
      'apt-get install v4l2loopback-dkms acpi-call-dkms',
      hookLines(await apt('install v4l2loopback-dkms acpi-call-dkms')),
    );
    // A module that does not build, added by hand as a user would.
    assert.equal((await container.exec('dkms add broken/1.0')).code, 0);
    const status = (await container.exec('dkms status')).output;
    for (const ref of [...MODULES, 'broken/1.0'])
      assert.match(status, new RegExp(`^${ref}: added$`, 'm'));
  });

  it('builds every AUTOINSTALL module for an older, then a newer kernel ABI while apt runs', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    const list = await container.exec(
      "apt-cache search --names-only '^linux-headers-6\\.12\\.[0-9]+\\+deb13-amd64$' | cut -d' ' -f1 | sed 's/^linux-headers-//' | sort -V",
    );
    const abis = list.output.trim().split('\n').filter(Boolean);
    assert.ok(
      abis.length >= 2,
      `two linux-headers-6.12.*+deb13-amd64 in the archive: ${list.output}`,
    );
    older = abis[0] ?? '';
    newer = abis.at(-1) ?? '';
    for (const kernel of [older, newer]) {
      // While dkmsd builds for a kernel that is not running, logind lists its delay lock.
      const locks = new Set<string>();
      let listing = '';
      let done = false;
      const installing = apt(`install linux-headers-${kernel}`).finally(() => (done = true));
      while (!done) {
        const list = await container.exec('systemd-inhibit --list --no-pager --no-legend', {
          quiet: true,
        });
        if (list.code !== 0) listing = list.output;
        for (const line of list.output.split('\n')) if (/dkmsd/.test(line)) locks.add(line.trim());
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const output = await installing;
      note(`apt-get install linux-headers-${kernel}`, hookLines(output));
      if (listing) {
        note(`systemd-inhibit --list while building for ${kernel}`, `not available: ${listing}`);
      } else {
        note(`systemd-inhibit --list while building for ${kernel}`, [...locks].join('\n'));
        assert.ok(
          [...locks].some((line) => line.includes(`for kernel ${kernel}`)),
          `dkmsd held a shutdown lock while building for ${kernel}`,
        );
        const pattern = new RegExp(`for kernel ${kernel.replace(/[.+]/g, '\\$&')}`);
        await waitFor(
          `the shutdown lock for ${kernel} to be released`,
          async () =>
            !pattern.test(
              (
                await container.exec('systemd-inhibit --list --no-pager --no-legend', {
                  quiet: true,
                })
              ).output,
            ),
          30_000,
        );
      }
      note(
        `readiness record of ${kernel}`,
        (await container.exec(`cat /var/lib/dkms/.readiness/${kernel}.json`, { quiet: true }))
          .output,
      );
      const installed = await installedFor();
      for (const ref of MODULES)
        assert.ok(installed.get(ref)?.includes(kernel), `${ref} installed for ${kernel}`);
      assert.equal(installed.has('broken/1.0'), false);
      const dep = await container.exec(
        `grep -c '^updates/dkms/' /lib/modules/${kernel}/modules.dep`,
      );
      assert.equal(dep.output.trim(), String(MODULES.length), 'depmod ran for the new modules');
    }
    const installed = await installedFor();
    for (const ref of MODULES) assert.deepEqual(installed.get(ref)?.sort(), [older, newer].sort());
    note('dkms status', (await container.exec('dkms status')).output);
  });

  it('ran dkmsd socket-activated, READY with its watchdog, and logs failures at priority err', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    const show = await container.exec(
      'systemctl show dkmsd.service -p ActiveState -p SubState -p Type -p StatusText -p WatchdogUSec -p NRestarts -p TriggeredBy',
    );
    assert.match(show.output, /^ActiveState=active$/m);
    assert.match(show.output, /^SubState=running$/m);
    assert.match(show.output, /^Type=notify$/m);
    assert.match(show.output, /^StatusText=.+/m);
    assert.match(show.output, /^WatchdogUSec=1min$/m);
    assert.match(show.output, /^NRestarts=0$/m);
    assert.match(show.output, /^TriggeredBy=(.* )?dkmsd\.socket( .*)?$/m);
    assert.match(
      await journal(),
      /^listening on a socket systemd passed: socket=\/run\/dkms\/dkmsd\.sock /m,
    );
    note(
      'systemctl status dkmsd',
      (await container.exec('systemctl status dkmsd --no-pager -n 0')).output,
    );
    const errors = await journal('-p err');
    assert.match(
      errors,
      /build finished: broken\/1\.0 for .*: failed .*log: \/var\/lib\/dkms\/broken\/1\.0\/\S+make\.log/,
    );
    // A build the file watcher started while dpkg was still unpacking the headers may have
    // failed on the way (logged at err too); what counts is that the last one installed.
    const all = await journal();
    for (const ref of MODULES)
      for (const kernel of [older, newer]) {
        const builds = all
          .split('\n')
          .filter((line) => line.startsWith(`build finished: ${ref} for ${kernel}:`));
        assert.match(
          builds.at(-1) ?? '',
          /: installed in /,
          `${ref} for ${kernel}: ${builds.join(' | ')}`,
        );
      }
    // bubblewrap works under the unit's hardening: no build fell back to running unconfined
    assert.doesNotMatch(all, /Building without a sandbox/);
    note('journalctl -u dkmsd -p err', errors);
    note('journalctl -u dkmsd (excerpt)', (await journal()).split('\n').slice(0, 40).join('\n'));
  });

  it('restarts, and after a reboot catches up a deleted build, then does nothing', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    assert.equal(
      (await container.exec('systemctl restart dkmsd && systemctl is-active dkmsd')).output.trim(),
      'active',
    );
    await waitFor(
      'the catch-up after restart',
      async () => /catch-up finished/.test(await journal('--since=-1min')),
      120_000,
    );
    await container.exec(
      `rm -rf /var/lib/dkms/acpi-call/1.2.2/${older} /lib/modules/${older}/updates/dkms/acpi_call.ko*`,
    );
    assert.equal((await installedFor()).get('acpi-call/1.2.2')?.includes(older), false);
    await container.poweroff();
    await container.boot();
    await waitFor(
      'the boot catch-up',
      async () => /catch-up finished/.test(await journal()),
      600_000,
    );
    const rebuilt = await journal();
    assert.match(
      rebuilt,
      new RegExp(
        `build finished: acpi-call/1\\.2\\.2 for ${older.replace(/[.+]/g, '\\$&')}: installed`,
      ),
    );
    assert.ok((await installedFor()).get('acpi-call/1.2.2')?.includes(older));
    note(
      'boot catch-up after deleting acpi-call for ' + older,
      rebuilt
        .split('\n')
        .filter((l) => /catch-up|build|kernel finished/.test(l))
        .join('\n'),
    );
    await container.poweroff();
    await container.boot();
    await waitFor(
      'the no-op boot catch-up',
      async () => /catch-up finished/.test(await journal()),
      300_000,
    );
    const noop = await journal();
    assert.doesNotMatch(noop, /build started/);
    // broken/1.0 counts as failed (remembered, not built again).
    assert.match(noop, /catch-up finished: .* 0 installed, \d+ failed/);
    note(
      'no-op boot catch-up (container reboot)',
      noop
        .split('\n')
        .filter((l) => /started|catch-up/.test(l))
        .join('\n'),
    );
  });

  it('loads a DKMS module in a real kernel: the initramfs dkmsd regenerated, booted under qemu', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    if ((await run('sh', ['-c', 'command -v qemu-system-x86_64'])).code !== 0)
      return t.skip('qemu-system-x86_64 is missing (scripts/setup.sh installs qemu-system-x86)');
    // Debian 12's 6.1 kernel (a small, quick boot) into the Debian 13 root, from the host's apt.
    const debs = [
      'linux-compiler-gcc-12-x86',
      'linux-image-6.1.0-47-amd64',
      'linux-headers-6.1.0-47-amd64',
      'linux-headers-6.1.0-47-common',
      'linux-kbuild-6.1',
    ];
    const fetched = await run('sh', [
      '-c',
      `cd '${APT_ARCHIVES}' && for p in ${debs.join(' ')}; do ls "$p"_*.deb >/dev/null 2>&1 || apt-get download -q "$p"; done`,
    ]);
    if (fetched.code !== 0)
      return t.skip(`Debian 12's kernel packages cannot be had: ${fetched.stderr.slice(-300)}`);
    await container.exec(
      "sed -i 's/^MODULES=.*/MODULES=list/' /etc/initramfs-tools/initramfs.conf && echo dkms_hello >> /etc/initramfs-tools/modules",
    );
    await apt(`install ${debs.map((p) => `/var/cache/apt/archives/${p}_*.deb`).join(' ')}`);
    // What a module package's postinst does: add, then ask dkmsd to build for every kernel.
    // Exit status 1: broken/1.0 failed again; what counts is the 6.1 kernel's line.
    const added = await container.exec(
      'dkms add dkms-hello/1.0 && dkmsd notify module-added dkms-hello 1.0 --wait',
    );
    assert.match(
      added.output,
      new RegExp(
        `^${K61} \\(x86_64\\): \\w+; installed dkms-hello/1\\.0; .*ran depmod, initramfs$`,
        'm',
      ),
    );
    const finished = await journal();
    assert.match(
      finished,
      new RegExp(`kernel finished: ${K61}: \\w+; installed dkms-hello/1\\.0; .*initramfs ran`),
    );
    const initrd = `/boot/initrd.img-${K61}`;
    assert.match(
      (await container.exec(`lsinitramfs ${initrd} | grep dkms_hello`)).output,
      /updates\/dkms\/dkms_hello\.ko/,
    );
    const serial = await bootQemu(join(root, `boot/vmlinuz-${K61}`), join(root, initrd.slice(1)));
    note('qemu serial console', serial.line);
    assert.match(serial.line, new RegExp(`dkms-hello 1\\.0: hello from kernel ${K61}`));
  });

  it('purging a *-dkms package removes its modules for every kernel', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    note('apt-get purge v4l2loopback-dkms', hookLines(await apt('purge v4l2loopback-dkms')));
    assert.equal((await installedFor()).has('v4l2loopback/0.15.0'), false);
    const left = await container.exec('ls /lib/modules/*/updates/dkms/ | grep -c v4l2loopback');
    assert.equal(left.output.trim(), '0');
  });

  it('removing a kernel and its headers removes its modules', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    // Debian 13's headers depend on the image: the kernel goes with both.
    note(
      `apt-get purge linux-image-${older} linux-headers-${older}`,
      hookLines(await apt(`purge linux-image-${older} linux-headers-${older}`)),
    );
    await waitFor(
      `dkms status without ${older}`,
      async () => ![...(await installedFor()).values()].some((k) => k.includes(older)),
      120_000,
    );
    const left = await container.exec(`ls /lib/modules/${older}/updates/dkms 2>/dev/null | wc -l`);
    assert.equal(left.output.trim(), '0');
    note('module list per kernel at the end', (await container.exec('dkms status')).output);
  });

  it('purging dkms-ts leaves the built modules of installed *-dkms packages alone', async (t) => {
    if (bootSkip) return t.skip(bootSkip);
    // what bash made of acpi-call's plain dkms.conf was kept by root's commands (and dkmsd)
    const cache = await container.exec('cat /var/cache/dkms-ts/conf-evals.json');
    assert.equal(cache.code, 0, cache.output);
    assert.match(cache.output, /"BUILT_MODULE_NAME",\[\[0,"acpi_call"\]\]/);
    assert.doesNotMatch(cache.output, /v4l2loopback/, 'a conf that runs commands is not kept');
    const purge = await container.exec('dpkg --purge --force-depends dkms-ts');
    assert.equal(purge.code, 0, purge.output);
    assert.equal((await container.exec('test -e /var/cache/dkms-ts')).code, 1, 'cache purged');
    const left = await container.exec(
      `ls /lib/modules/${newer}/updates/dkms/ /var/lib/dkms/acpi-call/1.2.2/${newer}/x86_64/module/; systemctl is-enabled dkmsd.socket || true`,
    );
    assert.match(left.output, /acpi_call\.ko/);
    assert.match(left.output, /vpoll\.ko/);
    assert.doesNotMatch(left.output, /^enabled$/m);
  });
});

/** Boots a kernel under qemu (TCG) and returns the serial console's hello line, if any. */
function bootQemu(kernel: string, initrd: string): Promise<{ line: string; output: string }> {
  return new Promise((resolve) => {
    const qemu = spawn(
      'timeout',
      [
        '300',
        'qemu-system-x86_64',
        '-m',
        '1024',
        '-nographic',
        '-no-reboot',
        '-kernel',
        kernel,
        '-initrd',
        initrd,
        '-append',
        'console=ttyS0 loglevel=7 panic=-1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let line = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const hello = /.*dkms-hello 1\.0: hello from kernel.*/.exec(output);
      if (hello && !line) {
        line = hello[0].trim();
        qemu.kill('SIGTERM');
      }
    };
    qemu.stdout.on('data', onData);
    qemu.stderr.on('data', onData);
    qemu.on('close', () => {
      appendFileSync(join(artifacts, 'qemu-serial.log'), output);
      resolve({ line, output });
    });
  });
}
