// CurveZMQ end to end through the kernel and the real CLIs over tcp://127.0.0.1 in a namespace: a sender with a pyzmq-made key on the allowlist delivers every packet byte for byte and none of its payload bytes crosses lo in clear (tcpdump); a sender with an unknown key and one without CURVE deliver nothing, each logs its failed handshake and the receiver logs and counts both refusals; SIGHUP with the unknown key added admits that sender, on the legacy wire, without a restart. Without CURVE the same bytes are on lo, and a plain socket bound on a non-loopback address is warned about once.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  Netns,
  captureLo,
  logField,
  logLines,
  makeTempDir,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  requirePyzmq,
  runPython,
  runTool,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
  type ChildHandle,
} from '@nflog-pipe/testing';

/** Group → UDP port its rule logs, one per sender. */
const ALLOWED = { group: 7, port: 9000 };
const UNKNOWN = { group: 8, port: 9001 };
const PLAIN = { group: 9, port: 9002 };
const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
${[ALLOWED, UNKNOWN, PLAIN].map((g) => `    udp dport ${g.port} log group ${g.group}`).join('\n')}
  }
}
`;
const SIZE = 300;
/** Bytes of each payload searched for in the TCP stream: seed, index and 24 bytes after them. */
const MARKER_BYTES = 32;

/** The IPv4 packets of a lo capture (DLT_EN10MB: 14 bytes of Ethernet first). */
async function ipPackets(file: string): Promise<Buffer[]> {
  return (await readPcapFile(file)).records
    .map((r) => r.data.subarray(14))
    .filter((ip) => ip[0] === 0x45);
}

/** UDP packets to `port` in capture order. */
function udpTo(ips: Buffer[], port: number): Buffer[] {
  return ips.filter((ip) => ip[9] === 17 && ip.readUInt16BE(22) === port);
}

/** The TCP payload bytes sent to `port`, concatenated in capture order (lo neither loses nor reorders). */
function tcpStreamTo(ips: Buffer[], port: number): Buffer {
  const parts: Buffer[] = [];
  for (const ip of ips) {
    if (ip[9] !== 6) continue;
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip.readUInt16BE(ihl + 2) !== port) continue;
    const dataOffset = (ip[ihl + 12]! >> 4) * 4;
    parts.push(ip.subarray(ihl + dataOffset, ip.readUInt16BE(2)));
  }
  return Buffer.concat(parts);
}

/** How many of `count` payloads of `seed` show their marker bytes in `stream`. */
function markersIn(stream: Buffer, seed: number, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (stream.includes(payloadFor(seed, i, SIZE).subarray(0, MARKER_BYTES))) n++;
  }
  return n;
}

/** A namespace with the rules, a temp dir and the test's children; all removed after it. */
async function setup(
  t: TestContext,
  tag: string,
): Promise<{ dir: string; ns: Netns; kids: Children; out: string }> {
  const dir = await makeTempDir(t);
  const ns = await Netns.create(tag);
  t.after(() => ns.remove());
  await ns.nft(RULES);
  return { dir, ns, kids: new Children(t), out: join(dir, 'out.pcap') };
}

/** Starts the receiver in `ns` binding `bind`, writing `out`; returns it and its bound endpoint. */
async function startReceiver(
  s: { ns: Netns; kids: Children; out: string },
  bind: string,
  extra: string[],
): Promise<{ recv: ChildHandle; endpoint: string }> {
  const recv = await s.kids.start(
    'nflog-pcap-recv',
    [bind, s.out, '--linktype', '101', '--stats-interval', '0.05', ...extra],
    / started /,
    s.ns,
  );
  return { recv, endpoint: logField(logLines(recv.stderr(), 'started')[0]!, 'endpoints')! };
}

/** `count` datagrams of SIZE bytes, payloads of `seed`, to 127.0.0.1:`dport` inside `ns`. */
async function udp(ns: Netns, dport: number, count: number, seed: number): Promise<void> {
  await sendTraffic(ns, { proto: 'udp', family: 4, port: dport, count, size: SIZE, seed });
}

function port(endpoint: string): number {
  return Number(/:(\d+)$/.exec(endpoint)?.[1]);
}

test('CURVE: allowed sender byte-exact and encrypted on lo; unknown key and plain sender refused, logged, counted; SIGHUP admits the unknown one (legacy wire)', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump'] })) return;
  if (!(await requirePyzmq(t))) return;
  const { dir, ns, kids, out } = await setup(t, 'curve');
  const keys = join(dir, 'keys');
  const allow = join(dir, 'allow');
  await mkdir(keys);
  await mkdir(allow);
  // The receiver's pair and the unknown sender's from our keygen; the allowed sender's from pyzmq.
  for (const name of ['ids', 'gw2']) {
    const r = await runTool('nflog-zmq-keygen', [name, '--dir', keys]);
    assert.equal(r.code, 0, r.stderr);
  }
  await runPython('import sys, zmq.auth; zmq.auth.create_certificates(sys.argv[1], "gw1")', [keys]);
  await copyFile(join(keys, 'gw1.key'), join(allow, 'gw1.key'));
  const serverZ85 = /public-key = "([^"]+)"/.exec(
    await readFile(join(keys, 'ids.key'), 'utf8'),
  )![1]!;

  const { recv, endpoint } = await startReceiver({ ns, kids, out }, 'tcp://127.0.0.1:*', [
    '--curve-server',
    join(keys, 'ids.key_secret'),
    '--curve-allow',
    allow,
  ]);
  const recvPort = port(endpoint);
  const cap = await captureLo(ns, join(dir, 'lo.pcap'));
  const sender = (g: { group: number }, extra: string[]): Promise<ChildHandle> =>
    kids.start(
      'nflog-zmq-send',
      // --checksums as-logged: compared byte for byte with tcpdump on lo, which sees the
      // offloaded (partial) checksums the output hook logs.
      [
        String(g.group),
        endpoint,
        '--flush-interval',
        '0',
        '--stats-interval',
        '0.05',
        '--checksums',
        'as-logged',
        ...extra,
      ],
      / started /,
      ns,
    );
  const allowed = await sender(ALLOWED, [
    '--curve-client',
    join(keys, 'gw1.key_secret'),
    '--curve-server-key',
    join(keys, 'ids.key'),
  ]);
  const unknown = await sender(UNKNOWN, [
    '--wire',
    'legacy',
    '--curve-client',
    join(keys, 'gw2.key_secret'),
    '--curve-server-key',
    serverZ85, // inline
  ]);
  const plain = await sender(PLAIN, []);

  const ep = endpoint.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  await allowed.waitForStderr(/connected \(handshake done\) .*curve=true/);
  await unknown.waitForStderr(
    new RegExp(
      `handshake with the server failed .*endpoint=${ep} why="the server refused our key"`,
    ),
  );
  await plain.waitForStderr(new RegExp(`handshake with the server failed .*endpoint=${ep} `));
  const gw2 = /public-key = "([^"]+)"/.exec(await readFile(join(keys, 'gw2.key'), 'utf8'))![1]!;
  const refusal = await recv.waitForStderr(/WARN nflog-pcap-recv: refused a client \(counted.*\n/);
  assert.ok(refusal[0].includes(gw2), `the refused key in ${refusal[0]}`);
  assert.match(refusal[0], / address=127\.0\.0\.1 /);
  // The plain sender: the receiver sees the mismatch, or (a race) the handshake broken off.
  await recv.waitForStderr(
    /refused a client: handshake failed .*code=(ERR_ZMTP_MECHANISM_MISMATCH|EPIPE)/,
  );

  await udp(ns, ALLOWED.port, 40, 1);
  await udp(ns, UNKNOWN.port, 10, 2);
  await udp(ns, PLAIN.port, 10, 3);
  await waitForLogCounters(recv, 'stats', (c) => c.in_pkt === 40, 'the allowed 40 packets');
  for (const s of [unknown, plain])
    await waitForLogCounters(s, 'stats', (c) => c.captured === 10, 'the sender read its 10');

  // SIGHUP with gw2's public certificate in the directory: gw2, still running, gets in.
  await copyFile(join(keys, 'gw2.key'), join(allow, 'gw2.key'));
  recv.kill('SIGHUP');
  await recv.waitForStderr(/allowlist reloaded .*keys=2 added=1 removed=0/);
  await unknown.waitForStderr(/connected \(handshake done\)/);
  await udp(ns, UNKNOWN.port, 10, 4);
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c.in_pkt === 50,
    '10 more from the admitted sender',
  );
  await cap.stopAtMarker();

  for (const s of [allowed, unknown, plain]) await stopCleanly(s, 'sender');
  const stopped = parseLogCounters(await stopCleanly(recv, 'receiver'));
  assert.equal(stopped['in_pkt'], 50);
  assert.equal(stopped['bad_frames'], 0);
  assert.ok((stopped['auth_rejected'] ?? 0) >= 2, `refusals counted: ${stopped['auth_rejected']}`);

  const ips = await ipPackets(join(dir, 'lo.pcap'));
  const got = (await readPcapFile(out)).records.map((r) => r.data);
  const ref = [
    ...udpTo(ips, ALLOWED.port),
    ...udpTo(ips, UNKNOWN.port).filter((ip) => ip.readUInt32BE(28) === 4),
  ];
  assert.equal(ref.length, 50);
  assert.deepEqual(
    got,
    ref,
    'the allowed packets and the admitted ones, byte for byte, nothing else',
  );
  const stream = tcpStreamTo(ips, recvPort);
  assert.ok(stream.length > 50 * SIZE, `the senders' TCP stream was captured (${stream.length} B)`);
  assert.equal(markersIn(stream, 1, 40), 0, 'no payload bytes in clear on lo');
  assert.equal(markersIn(stream, 4, 10), 0, 'no payload bytes in clear on lo (legacy wire)');
  assert.equal(logLines(recv.stderr(), 'bound without CURVE').length, 0);
  assert.doesNotMatch(recv.stderr(), /without CURVE on a non-loopback/);
});

test('without CURVE the payload bytes cross lo in clear; plain sockets on a non-loopback address are warned about once each', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump'] })) return;
  const { dir, ns, kids, out } = await setup(t, 'plain');
  // 0.0.0.0 inside a namespace that has only lo: reachable from nowhere, yet not loopback.
  const { recv, endpoint: bound } = await startReceiver({ ns, kids, out }, 'tcp://0.0.0.0:*', [
    '--buffer-interface',
    'tcp://0.0.0.0:*',
  ]);
  const recvPort = port(bound);
  const cap = await captureLo(ns, join(dir, 'lo.pcap'));
  const sender = await kids.start(
    'nflog-zmq-send',
    [String(ALLOWED.group), `tcp://127.0.0.1:${recvPort}`, '--flush-interval', '0'],
    / started /,
    ns,
  );
  await sender.waitForStderr(/connected \(handshake done\) .*curve=false/);
  await udp(ns, ALLOWED.port, 20, 5);
  await waitForLogCounters(recv, 'stats', (c) => c.in_pkt === 20, 'the 20 packets');
  await cap.stopAtMarker();
  await stopCleanly(sender, 'sender');
  await stopCleanly(recv, 'receiver');
  const ips = await ipPackets(join(dir, 'lo.pcap'));
  assert.equal(markersIn(tcpStreamTo(ips, recvPort), 5, 20), 20, 'every payload readable on lo');
  const warnings = recv
    .stderr()
    .split('\n')
    .filter((l) => / WARN /.test(l));
  assert.equal(
    warnings.filter((l) =>
      /: bound without CURVE on a non-loopback address: anyone who can reach it can inject/.test(l),
    ).length,
    1,
    recv.stderr(),
  );
  assert.equal(
    warnings.filter((l) =>
      /buffer interface bound without CURVE .*can read the captured traffic/.test(l),
    ).length,
    1,
    recv.stderr(),
  );
  assert.equal(warnings.length, 2, recv.stderr());
});
