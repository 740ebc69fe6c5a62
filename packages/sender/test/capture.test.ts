// Through the kernel: a PULL socket receives exactly the packets nft logged on two groups (UDP/TCP, IPv4/IPv6), byte for byte.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import { decodeFrameMeta } from '@nflog-pipe/shared';
import {
  Netns,
  binPath,
  captureLo,
  makeTempDir,
  requirePrereqs,
  parseLogCounters,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
  parseIpPacket,
} from '@nflog-pipe/testing';
import { readLoCapture, receivePackets, type Pkt } from './kernel-helper.js';

const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 log group 1
    udp dport 9001 log group 2
    tcp dport 9002 log group 2
  }
}
`;

/** Which group the rules put a packet in, or undefined for packets no rule logs. */
function groupOf(p: Pkt): 1 | 2 | undefined {
  const { proto, dport } = parseIpPacket(p.data);
  if (proto === 17 && dport === 9000) return 1;
  if ((proto === 17 && dport === 9001) || (proto === 6 && dport === 9002)) return 2;
  return undefined;
}

const hex = (p: Pkt): string => p.data.toString('hex');

test('two groups, UDP and TCP over IPv4 and IPv6: every logged packet arrives exactly once, byte for byte', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('send');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const pull = new Pull();
  t.after(() => pull.close());
  const endpoint = `ipc://${join(dir, 'pull.sock')}`;
  await pull.bind(endpoint);

  const startSec = Math.floor(Date.now() / 1000);
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '1,2',
    endpoint,
    '--stats-interval',
    '0.1',
    '--meta-interval',
    '0',
    // Byte for byte against tcpdump on lo, which sees the offloaded (partial) checksums too.
    '--checksums',
    'as-logged',
    // Above the kernel's 128 KiB: clamped once, by NflogSocket, with one warning. The default
    // --libnflog-copy-range (65535, above the kernel's 65531) is clamped without one.
    '--libnflog-nlbufsiz',
    '10',
  ]);
  await sender.waitForStderr(/ started /);
  const warnings = sender
    .stderr()
    .split('\n')
    .filter((l) => / WARN /.test(l));
  assert.equal(warnings.length, 1, sender.stderr());
  assert.match(warnings[0]!, /nlbufsizBytes 10485760 clamped to 131072/);
  const cap = await captureLo(ns, join(dir, 'lo.pcap'));
  const sent = [
    await sendTraffic(ns, { proto: 'udp', family: 4, port: 9000, count: 40, size: 100, seed: 1 }),
    await sendTraffic(ns, { proto: 'udp', family: 6, port: 9000, count: 30, size: 1400, seed: 2 }),
    await sendTraffic(ns, { proto: 'udp', family: 4, port: 9001, count: 20, size: 3000, seed: 3 }),
    await sendTraffic(ns, { proto: 'udp', family: 6, port: 9001, count: 10, size: 1, seed: 4 }),
    await sendTraffic(ns, { proto: 'tcp', family: 4, port: 9002, count: 15, size: 200, seed: 5 }),
    await sendTraffic(ns, { proto: 'tcp', family: 6, port: 9002, count: 15, size: 50, seed: 6 }),
  ];
  await cap.stopAtMarker();
  assert.deepEqual(
    sent.map((s) => s.sent),
    [40, 30, 20, 10, 15, 15],
  );

  // The reference: what tcpdump saw on lo in the same run, restricted to what the rules log.
  const reference = (await readLoCapture(join(dir, 'lo.pcap'))).filter(
    (p) => groupOf(p) !== undefined,
  );
  const expectedPerGroup = [1, 2].map((g) => reference.filter((p) => groupOf(p) === g).length);
  // UDP datagrams are one packet each (3000 bytes still fit lo's 64 KiB MTU); TCP adds the handshake, ACKs and FIN.
  assert.equal(expectedPerGroup[0], 70);
  assert.ok(expectedPerGroup[1]! >= 30 + 30, `group 2 logged ${expectedPerGroup[1]}`);

  await waitForLogCounters(
    sender,
    'stats',
    (c) => c['captured'] === reference.length,
    `captured=${reference.length}`,
  );
  const fin = parseLogCounters(await stopCleanly(sender, 'the sender'));
  assert.deepEqual(
    [
      fin['captured'],
      fin['queued'],
      fin['dropped_queue'],
      fin['dropped_kernel'],
      fin['dropped_shaper'],
    ],
    [reference.length, reference.length, 0, 0, 0],
  );

  const { pkts, frames } = await receivePackets(pull, fin['queued']!);
  const endSec = Math.ceil(Date.now() / 1000);
  // Exactly the same packets, byte for byte (as multisets: lo's transmit order need not be the
  // order the output hook logged them in; kernel order is checked in kernel-order.test.ts).
  assert.deepEqual(pkts.map(hex).sort(), reference.map(hex).sort());
  assert.deepEqual(
    [1, 2].map((g) => pkts.filter((p) => groupOf(p) === g).length),
    expectedPerGroup,
  );
  // Within one group the kernel keeps the order of the packets.
  for (const g of [1, 2]) {
    assert.deepEqual(
      pkts.filter((p) => groupOf(p) === g).map(hex),
      reference.filter((p) => groupOf(p) === g).map(hex),
    );
  }
  for (const p of pkts) {
    assert.equal(p.inclLen, p.data.length);
    assert.equal(p.origLen, p.data.length, 'nothing was cut: orig_len is the packet length');
    assert.ok(
      p.tsSec >= startSec && p.tsSec <= endSec,
      `timestamp ${p.tsSec} outside ${startSec}..${endSec}`,
    );
    assert.ok(p.tsUsec < 1_000_000);
  }
  // Frames: one sender id, contiguous sequence numbers from 0, metadata in the first frame only.
  assert.equal(new Set(frames.map((f) => f.senderId)).size, 1);
  let seq = 0n;
  for (const f of frames) {
    assert.equal(f.firstSeq, seq);
    assert.equal(f.linktype, 101);
    seq += BigInt(f.count);
  }
  assert.deepEqual(decodeFrameMeta(frames[0]!.meta!)['groups'], [1, 2]);
  assert.equal(frames.slice(1).filter((f) => f.meta !== undefined).length, 0);
});
