// The operator's path: the tarball npm run package builds, installed with npm install -g --prefix into an empty prefix: it holds no tests, bench or prebuilt addon; every tool answers --version from outside the checkout; the installed sender and receiver capture N/N through the kernel; the installed sender as nobody with only CAP_NET_ADMIN (ambient) captures N/N, and without it fails with the one-line EPERM hint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  makeTempDir,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  tcpdumpRead,
  waitForLogCounters,
  withTimeout,
  TEST_TIMEOUT_MS,
  type ChildHandle,
} from '@nflog-pipe/testing';
import { packTarball, REPO_ROOT, type PackedTarball } from '../src/index.js';

const execFileP = promisify(execFile);

const GROUP = 11;
const PORT = 9000;
const PACKETS = 40;
const SIZE = 200;
const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport ${PORT} log group ${GROUP}
  }
}
`;
/** The receiver's endpoint, inside the test's own namespace (nothing else listens there). */
const ENDPOINT = 'tcp://127.0.0.1:5555';
/** setpriv's arguments for "nobody, and nothing else" (Debian: nobody / nogroup). */
const AS_NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];
const WITH_NET_ADMIN = ['--inh-caps', '+net_admin', '--ambient-caps', '+net_admin'];

/** Environment for npm and the installed tools: none of the npm run variables of this test run. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

interface Installed {
  packed: PackedTarball;
  prefix: string;
  /** Where a tool's command is: `<prefix>/bin/<tool>`. */
  bin(tool: string): string;
  /** Scratch directory outside the checkout, readable by nobody. */
  dir: string;
}

async function packAndInstall(t: TestContext): Promise<Installed> {
  const dir = await makeTempDir(t);
  // nobody must reach the installed tools below it.
  await chmod(dir, 0o755);
  const packed = await packTarball({ outDir: dir });
  const prefix = join(dir, 'prefix');
  await withTimeout(
    execFileP(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        packed.path,
      ],
      { cwd: dir, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 },
    ),
    6 * TEST_TIMEOUT_MS,
    'npm install -g of the tarball',
  );
  return { packed, prefix, dir, bin: (tool) => join(prefix, 'bin', tool) };
}

/** The sender's arguments in every capture here: every kernel read is sent at once. */
const SENDER_ARGS = [String(GROUP), ENDPOINT, '--flush-interval', '0', '--stats-interval', '0'];

/**
 * A namespace (removed after the test) with the logging rules, and the installed receiver in
 * it writing to `<dir>/<tag>.pcap`, bound.
 */
async function captureSetup(
  t: TestContext,
  inst: Installed,
  tag: string,
): Promise<{ ns: Netns; recv: ChildHandle; out: string }> {
  const ns = await Netns.create(tag);
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const out = join(inst.dir, `${tag}.pcap`);
  const recv = ns.spawn(
    inst.bin('nflog-pcap-recv'),
    [ENDPOINT, out, '--stats-interval', '0.05', '--linktype', '101'],
    { env: cleanEnv(), cwd: inst.dir },
  );
  await recv.waitForStderr(/ started /);
  return { ns, recv, out };
}

/**
 * Sends PACKETS logged datagrams while `sender` runs, then stops sender and receiver and checks
 * N/N: the sender read and sent them all, the receiver wrote them all, and the file holds them
 * byte for byte in a pcap tcpdump reads.
 */
async function assertCapturesAll(
  ns: Netns,
  sender: ChildHandle,
  recv: ChildHandle,
  out: string,
  seed: number,
): Promise<void> {
  await sender.waitForStderr(/ started /);
  await sendTraffic(ns, { proto: 'udp', port: PORT, count: PACKETS, size: SIZE, seed });
  const sent = parseLogCounters(await stopCleanly(sender, 'installed sender'));
  assert.equal(sent['captured'], PACKETS, sender.stderr());
  assert.equal(sent['queued'], PACKETS, sender.stderr());
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === PACKETS, 'all packets written');
  const got = parseLogCounters(await stopCleanly(recv, 'installed receiver'));
  assert.equal(got['out_pkt'], PACKETS);
  assert.equal(got['loss_network_pkt'], 0);
  const { records } = await readPcapFile(out);
  assert.deepEqual(
    records.map((r) => r.data.subarray(28)),
    Array.from({ length: PACKETS }, (_, i) => payloadFor(seed, i, SIZE)),
  );
  assert.equal((await tcpdumpRead(out)).count, PACKETS);
}

test('the installed tarball', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['npm', 'ip', 'nft', 'tcpdump', 'setpriv', 'make'] }))
    return;
  const inst = await packAndInstall(t);
  const { packed } = inst;
  const tools = Object.keys(packed.plan.manifest.bin ?? {}).sort();
  // The six tools, spelled out: a tool whose package lost its bin entry must fail here,
  // not silently drop out of a list derived from the manifest.
  assert.deepEqual(tools, [
    'nflog-pcap-query',
    'nflog-pcap-recv',
    'nflog-zmq-compress',
    'nflog-zmq-decompress',
    'nflog-zmq-keygen',
    'nflog-zmq-send',
  ]);

  await t.test('holds the tools and their libraries, no tests, bench or prebuilt addon', () => {
    assert.match(packed.path, /\/nflog-pipe-\d+\.\d+\.\d+\.tgz$/);
    const bad = packed.files.filter(
      (f) =>
        /(^|\/)(test|bench)\//.test(f) ||
        /\.test\.|tsbuildinfo|\.node$/.test(f) ||
        /@nflog-pipe\/(testing|packaging)\//.test(f) ||
        /^node_modules\/@nflog-pipe\/[^/]+\/build\//.test(f),
    );
    assert.deepEqual(bad, []);
    assert.ok(packed.files.includes('npm-shrinkwrap.json'));
    for (const f of [
      'contrib/systemd/nflog-zmq-send@.service',
      'contrib/sysusers.d/nflog-pipe.conf',
      'contrib/etc/nflog-pipe/send-example.conf',
      'docs/operations.md',
    ])
      assert.ok(packed.files.includes(f), f);
    for (const pkg of ['nflog-native', 'pcap-writer'])
      assert.ok(packed.files.includes(`node_modules/@nflog-pipe/${pkg}/binding.gyp`), pkg);
    for (const target of Object.values(packed.plan.manifest.bin ?? {}))
      assert.ok(packed.files.includes(target), target);
  });

  await t.test(
    'every tool is on the prefix PATH and answers --version from outside the checkout',
    async () => {
      assert.deepEqual((await readdir(join(inst.prefix, 'bin'))).sort(), tools);
      assert.ok(!inst.dir.startsWith(REPO_ROOT));
      for (const tool of tools) {
        const { stdout } = await execFileP(inst.bin(tool), ['--version'], {
          cwd: inst.dir,
          env: { ...cleanEnv(), PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
        });
        assert.equal(stdout, `${packed.plan.manifest.version}\n`, tool);
      }
    },
  );

  await t.test('the addons were built at install, in the installed packages', async () => {
    for (const addon of [
      'nflog-native/build/Release/nflog_native.node',
      'pcap-writer/build/Release/pcap_pipe.node',
    ]) {
      const path = join(inst.prefix, 'lib/node_modules/nflog-pipe/node_modules/@nflog-pipe', addon);
      assert.ok(await exists(path), path);
    }
  });

  await t.test(
    'installed nflog-zmq-send and nflog-pcap-recv capture N/N in a namespace',
    async (t) => {
      const { ns, recv, out } = await captureSetup(t, inst, 'installed');
      const sender = ns.spawn(inst.bin('nflog-zmq-send'), SENDER_ARGS, {
        env: cleanEnv(),
        cwd: inst.dir,
      });
      await assertCapturesAll(ns, sender, recv, out, 31);
    },
  );

  await t.test(
    'as nobody with only CAP_NET_ADMIN (ambient) the installed sender captures N/N',
    async (t) => {
      const { ns, recv, out } = await captureSetup(t, inst, 'nobodycap');
      const sender = ns.spawn(
        'setpriv',
        [...AS_NOBODY, ...WITH_NET_ADMIN, inst.bin('nflog-zmq-send'), ...SENDER_ARGS],
        { env: cleanEnv(), cwd: inst.dir },
      );
      await sender.waitForStderr(/ started /);
      const status = await readFile(`/proc/${sender.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      // CAP_NET_ADMIN is bit 12: the one capability held.
      assert.match(status, /^CapEff:\s+0*1000$/m);
      await assertCapturesAll(ns, sender, recv, out, 32);
    },
  );

  await t.test(
    'as nobody without the capability: one line naming EPERM and CAP_NET_ADMIN, exit 1',
    async (t) => {
      const ns = await Netns.create('nobodynocap');
      t.after(() => ns.remove());
      const sender = ns.spawn(
        'setpriv',
        [...AS_NOBODY, inst.bin('nflog-zmq-send'), String(GROUP), ENDPOINT],
        { env: cleanEnv(), cwd: inst.dir },
      );
      const exit = await withTimeout(sender.exited, TEST_TIMEOUT_MS, 'the sender to exit');
      assert.deepEqual(exit, { code: 1, signal: null });
      const lines = sender.stderr().trimEnd().split('\n');
      assert.equal(lines.length, 1, sender.stderr());
      assert.match(
        lines[0]!,
        new RegExp(`^nflog-zmq-send: cannot read NFLOG group ${GROUP}: .*EPERM.*CAP_NET_ADMIN`),
      );
    },
  );
});
