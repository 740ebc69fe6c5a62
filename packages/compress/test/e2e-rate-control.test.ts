// Proves issue 5 end to end: kernel → nflog-zmq-send → (compress → decompress relays, or inline --rate-control, v1 and legacy) → nflog-pcap-recv leaves exactly sent − counted drops in the pcap, byte for byte, over a smaller compressed leg; zip bombs and corrupt deflate are counted as bad while every process keeps running.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { Push } from 'zeromq';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  METRIC,
  WIRE_FLAG_COMPRESSED,
  encodeFrame,
  encodeLegacyPacket,
  statsdName,
} from '@nflog-pipe/shared';
import {
  Children,
  Netns,
  StatsdListener,
  makeTempDir,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  tcpdumpRead,
  waitForLogCounters,
  type ChildHandle,
  type LogCounters,
} from '@nflog-pipe/testing';
import { compressFrame } from '../src/index.js';
import { checkPayloads, statsdTotals, waitForStatsd } from './e2e-helpers.js';
import { makeRecords } from './helpers.js';

/** UDP to this port is logged to NFLOG group 1 (and nothing else is). */
const PORT = 9000;
const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport ${PORT} log group 1
  }
}
`;
/** Packets offered per scenario, and their UDP payload size in bytes (IPv4 packets of 428 bytes). */
const COUNT = 2000;
const SIZE = 400;

/** Flags that point a tool's counters at the test's statsd listener, flushed every 50 ms. */
/** Statsd prefixes: compress relay, decompress relay, receiver (the sender runs in the netns). */
const C = 'c.';
const D = 'd.';
const R = 'r.';

interface Scenario {
  /** Extra sender flags (rate control, wire). */
  senderArgs: string[];
  /** With relays: the compress relay's flags; the chain is sender → compress → decompress → receiver. */
  compressArgs?: string[];
  /** Extra receiver flags. */
  recvArgs: string[];
  /** payloadFor seed of the traffic. */
  seed: number;
}

interface PipeResult {
  send: LogCounters;
  comp: LogCounters | undefined;
  decomp: LogCounters | undefined;
  recv: LogCounters;
  /** stderr of the sender and of the compress relay (empty without relays). */
  sendLog: string;
  compLog: string;
  statsd: StatsdListener;
  /** Packets in the pcap and their payload indices. */
  packets: number;
  indices: number[];
  /** Sum of every counted drop, all stages. */
  drops: number;
}

/** Runs one scenario through the kernel and checks the accounting every scenario shares. */
async function runPipe(t: TestContext, sc: Scenario): Promise<PipeResult> {
  const dir = await makeTempDir(t);
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const ns = await Netns.create('e2erc');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const children = new Children(t);
  const ep = (name: string): string => `ipc://${join(dir, name)}`;
  const pcapPath = join(dir, 'out.pcap');
  const chain = sc.compressArgs !== undefined;

  // Downstream first, so every PUSH finds its peer bound.
  const recv = await children.start(
    'nflog-pcap-recv',
    [
      ep(chain ? 'out.sock' : 'in.sock'),
      pcapPath,
      '--stats-interval',
      '0.1',
      ...statsd.cliArgs(R),
      ...sc.recvArgs,
    ],
    / started /,
  );
  let decomp: ChildHandle | undefined;
  let comp: ChildHandle | undefined;
  if (sc.compressArgs !== undefined) {
    decomp = await children.start(
      'nflog-zmq-decompress',
      [ep('mid.sock'), ep('out.sock'), ...statsd.cliArgs(D)],
      / relaying /,
    );
    comp = await children.start(
      'nflog-zmq-compress',
      [ep('in.sock'), ep('mid.sock'), ...sc.compressArgs, ...statsd.cliArgs(C)],
      / relaying /,
    );
  }
  // The sender must see the namespace's NFLOG group; ipc:// crosses network namespaces.
  const sender = await children.start(
    'nflog-zmq-send',
    [
      '1',
      ep('in.sock'),
      '--stats-interval',
      '0.1',
      '--meta-interval',
      '0',
      '--batch-bytes',
      '65536',
      ...sc.senderArgs,
    ],
    / started /,
    ns,
  );

  const traffic = await sendTraffic(ns, {
    proto: 'udp',
    port: PORT,
    count: COUNT,
    size: SIZE,
    seed: sc.seed,
  });
  assert.equal(traffic.sent, COUNT);
  // Every logged packet is read (or counted as a kernel drop) before the sender is stopped.
  await waitForLogCounters(
    sender,
    'stats',
    (c) => c['captured']! + c['dropped_kernel']! >= COUNT,
    `sender captured ${COUNT}`,
  );
  const send = parseLogCounters(await stopCleanly(sender, 'nflog-zmq-send'));
  assert.equal(
    send['captured']! + send['dropped_kernel']!,
    COUNT,
    'logged = captured + kernel drops',
  );
  assert.equal(
    send['captured'],
    send['queued']! + send['dropped_queue']! + send['dropped_shaper']!,
    'captured = sent + queue + shaper drops',
  );

  // Downstream of the sender, packets are delivered or counted; wait until that adds up.
  const downstream = [
    `${C}${statsdName(METRIC.LOSS_SHAPER_PKT)}`,
    `${C}${statsdName(METRIC.LOSS_QUEUE_PKT)}`,
    `${D}${statsdName(METRIC.LOSS_QUEUE_PKT)}`,
    `${R}${statsdName(METRIC.LOSS_FIFO_PKT)}`,
    `${R}${statsdName(METRIC.WRITTEN_PKT)}`,
  ];
  const accounted = (): number => downstream.reduce((sum, n) => sum + statsd.total(n), 0);
  await waitForStatsd(
    statsd,
    () => accounted() === send['queued'],
    () =>
      `downstream accounted ${accounted()} of ${send['queued']} sent: ${JSON.stringify(statsdTotals(statsd, downstream))}`,
  );

  const compCounts =
    comp === undefined
      ? undefined
      : parseLogCounters(await stopCleanly(comp, 'nflog-zmq-compress'));
  const decompCounts =
    decomp === undefined
      ? undefined
      : parseLogCounters(await stopCleanly(decomp, 'nflog-zmq-decompress'));
  const recvCounts = parseLogCounters(await stopCleanly(recv, 'nflog-pcap-recv'));

  // The final log lines and the statsd totals (the last flush happens at exit) agree.
  const agree = async (name: string, value: number | undefined): Promise<void> => {
    assert.notEqual(value, undefined, name);
    await statsd.waitFor(name, (v) => v === value);
  };
  if (compCounts !== undefined && decompCounts !== undefined) {
    for (const m of [
      statsdName(METRIC.COMPRESS_IN_PKT),
      statsdName(METRIC.COMPRESS_IN_BYTES),
      statsdName(METRIC.COMPRESS_OUT_PKT),
      statsdName(METRIC.COMPRESS_OUT_BYTES),
      statsdName(METRIC.LOSS_SHAPER_PKT),
      statsdName(METRIC.LOSS_QUEUE_PKT),
    ]) {
      await agree(`${C}${m}`, compCounts[m]);
    }
    for (const m of [
      statsdName(METRIC.DECOMPRESS_IN_PKT),
      statsdName(METRIC.DECOMPRESS_IN_BYTES),
      statsdName(METRIC.DECOMPRESS_OUT_PKT),
      statsdName(METRIC.DECOMPRESS_OUT_BYTES),
      statsdName(METRIC.LOSS_QUEUE_PKT),
    ]) {
      await agree(`${D}${m}`, decompCounts[m]);
    }
    // Each relay: in = out + counted drops; the decompress relay got what compress sent.
    assert.equal(
      compCounts[statsdName(METRIC.COMPRESS_IN_PKT)],
      send['queued'],
      'compress relay received what the sender queued',
    );
    assert.equal(
      compCounts[statsdName(METRIC.COMPRESS_IN_PKT)],
      compCounts[statsdName(METRIC.COMPRESS_OUT_PKT)]! +
        compCounts[statsdName(METRIC.LOSS_SHAPER_PKT)]! +
        compCounts[statsdName(METRIC.LOSS_QUEUE_PKT)]!,
    );
    assert.equal(
      decompCounts[statsdName(METRIC.DECOMPRESS_IN_PKT)],
      compCounts[statsdName(METRIC.COMPRESS_OUT_PKT)],
    );
    assert.equal(
      decompCounts[statsdName(METRIC.DECOMPRESS_IN_BYTES)],
      compCounts[statsdName(METRIC.COMPRESS_OUT_BYTES)],
    );
    assert.equal(
      decompCounts[statsdName(METRIC.DECOMPRESS_IN_PKT)],
      decompCounts[statsdName(METRIC.DECOMPRESS_OUT_PKT)]! +
        decompCounts[statsdName(METRIC.LOSS_QUEUE_PKT)]!,
    );
    assert.equal(compCounts[statsdName(METRIC.BAD_FRAMES)], 0);
    assert.equal(decompCounts[statsdName(METRIC.BAD_FRAMES)], 0);
  }
  await agree(`${R}${statsdName(METRIC.WRITTEN_PKT)}`, recvCounts['out_pkt']);
  await agree(`${R}${statsdName(METRIC.RECEIVED_BYTES)}`, recvCounts['in_bytes']);
  assert.equal(recvCounts['bad_frames'], 0);
  assert.equal(recvCounts['queued_pkt'], 0);
  assert.equal(recvCounts['in_pkt'], recvCounts['out_pkt']! + recvCounts['loss_fifo_pkt']!);

  const drops =
    send['dropped_kernel']! +
    send['dropped_queue']! +
    send['dropped_shaper']! +
    (compCounts?.[statsdName(METRIC.LOSS_SHAPER_PKT)] ?? 0) +
    (compCounts?.[statsdName(METRIC.LOSS_QUEUE_PKT)] ?? 0) +
    (decompCounts?.[statsdName(METRIC.LOSS_QUEUE_PKT)] ?? 0) +
    recvCounts['loss_fifo_pkt']!;

  // The pcap: valid for tcpdump, exactly sent − counted drops, the payloads byte-exact and in order.
  const pcap = await readPcapFile(pcapPath);
  assert.equal(pcap.header.linktype, 101);
  assert.equal(
    pcap.records.length,
    COUNT - drops,
    `pcap holds ${COUNT} offered − ${drops} counted drops`,
  );
  assert.equal(pcap.records.length, recvCounts['out_pkt']);
  assert.equal((await tcpdumpRead(pcapPath)).count, pcap.records.length);
  const indices = checkPayloads(
    pcap.records.map((r) => r.data),
    { seed: sc.seed, size: SIZE, dport: PORT, offered: COUNT },
  );
  t.diagnostic(
    `offered ${COUNT}; dropped kernel=${send['dropped_kernel']} sender_queue=${send['dropped_queue']} sender_shaper=${send['dropped_shaper']}` +
      ` relay_shaper=${compCounts?.[statsdName(METRIC.LOSS_SHAPER_PKT)] ?? '-'} relay_queue=${compCounts?.[statsdName(METRIC.LOSS_QUEUE_PKT)] ?? '-'}/${decompCounts?.[statsdName(METRIC.LOSS_QUEUE_PKT)] ?? '-'}` +
      ` recv_fifo=${recvCounts['loss_fifo_pkt']}; in pcap ${pcap.records.length}`,
  );
  return {
    send,
    comp: compCounts,
    decomp: decompCounts,
    recv: recvCounts,
    sendLog: sender.stderr(),
    compLog: comp?.stderr() ?? '',
    statsd,
    packets: pcap.records.length,
    indices,
    drops,
  };
}

const KERNEL_PREREQS = { root: true, tools: ['ip', 'nft', 'tcpdump'] };

test('relays: sender → compress → decompress → receiver; pcap = sent − counted drops, compressed leg smaller', async (t) => {
  if (!requirePrereqs(t, KERNEL_PREREQS)) return;
  const r = await runPipe(t, {
    senderArgs: [],
    // 0.001 MiB/s with the default window (4 × lwm ≈ 4 KiB): every frame after the first window compresses.
    compressArgs: ['--lwm', '0.001', '--hwm', '0'],
    recvArgs: [],
    seed: 11,
  });
  const c = r.comp!;
  const d = r.decomp!;
  assert.equal(c[statsdName(METRIC.LOSS_SHAPER_PKT)], 0, 'hwm 0 never drops');
  assert.match(r.compLog, / INFO nflog-zmq-compress: rate control: compress /);
  const ratio =
    c[statsdName(METRIC.COMPRESS_OUT_BYTES)]! / c[statsdName(METRIC.COMPRESS_IN_BYTES)]!;
  t.diagnostic(
    `compressed leg: ${c[statsdName(METRIC.COMPRESS_OUT_BYTES)]} of ${c[statsdName(METRIC.COMPRESS_IN_BYTES)]} bytes in, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(ratio < 1, `the compressed leg carries fewer bytes (ratio ${ratio})`);
  if (r.drops === 0) {
    // Without drops, decompress restores every frame byte for byte: out = what compress took in.
    assert.equal(
      d[statsdName(METRIC.DECOMPRESS_OUT_BYTES)],
      c[statsdName(METRIC.COMPRESS_IN_BYTES)],
    );
    assert.deepEqual(
      r.indices,
      Array.from({ length: COUNT }, (_, i) => i),
    );
    assert.equal(r.recv['loss_network_pkt'], 0);
  }
});

test('inline v1: nflog-zmq-send --rate-control → nflog-pcap-recv; pcap = sent − counted drops, fewer bytes on the wire', async (t) => {
  if (!requirePrereqs(t, KERNEL_PREREQS)) return;
  const r = await runPipe(t, {
    senderArgs: ['--rate-control', '--lwm', '0.001', '--hwm', '0'],
    recvArgs: [],
    seed: 12,
  });
  assert.match(r.sendLog, / rate regime changed .*regime=compress /);
  assert.equal(r.send['dropped_shaper'], 0, 'hwm 0 never drops');
  // Sender's wire bytes (frame headers included, compressed) against the receiver's inflated records.
  const rawIn = r.statsd.total(`${R}${statsdName(METRIC.RECEIVED_BYTES)}`);
  const ratio = r.send['bytes_queued']! / rawIn;
  t.diagnostic(
    `wire: ${r.send['bytes_queued']} bytes for ${rawIn} bytes of records, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(ratio < 1, `compressed frames are smaller than their records (ratio ${ratio})`);
  if (r.drops === 0) {
    assert.deepEqual(
      r.indices,
      Array.from({ length: COUNT }, (_, i) => i),
    );
    assert.equal(r.recv['loss_network_pkt'], 0);
  }
});

test('inline legacy: nflog-zmq-send --wire legacy --rate-control → nflog-pcap-recv --wire legacy --rate-control', async (t) => {
  if (!requirePrereqs(t, KERNEL_PREREQS)) return;
  const r = await runPipe(t, {
    senderArgs: ['--wire', 'legacy', '--rate-control', '--lwm', '0.001', '--hwm', '0'],
    recvArgs: ['--wire', 'legacy', '--rate-control'],
    seed: 13,
  });
  assert.match(r.sendLog, / rate regime changed .*regime=compress /);
  assert.equal(r.send['dropped_shaper'], 0, 'hwm 0 never drops');
  const rawIn = r.statsd.total(`${R}${statsdName(METRIC.RECEIVED_BYTES)}`);
  const ratio = r.send['bytes_queued']! / rawIn;
  t.diagnostic(
    `wire: ${r.send['bytes_queued']} bytes (0x00/0x01 messages) for ${rawIn} bytes of records, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(ratio < 1, `compressed windows are smaller than their records (ratio ${ratio})`);
  if (r.drops === 0)
    assert.deepEqual(
      r.indices,
      Array.from({ length: COUNT }, (_, i) => i),
    );
});

test('drop regime: a tiny --hwm on the compress relay drops; pcap = sent − loss.shaper.pkt − other counted drops', async (t) => {
  if (!requirePrereqs(t, KERNEL_PREREQS)) return;
  // hwm ≈ 210 B/s over a 10 KiB window: the first window closes far above it, so frames drop.
  const r = await runPipe(t, {
    senderArgs: [],
    compressArgs: ['--lwm', '0.0001', '--hwm', '0.0002', '--wm-interval', '0.01'],
    recvArgs: [],
    seed: 14,
  });
  const shaper = r.comp![statsdName(METRIC.LOSS_SHAPER_PKT)]!;
  t.diagnostic(`relay shaper dropped ${shaper} of ${COUNT}; ${r.packets} in the pcap`);
  assert.ok(shaper > 0, 'the shaper dropped');
  assert.match(r.compLog, / WARN nflog-zmq-compress: rate above --hwm: dropping /);
  assert.ok(r.packets > 0, 'the first window passed');
  assert.equal(r.statsd.total(`${C}${statsdName(METRIC.LOSS_SHAPER_PKT)}`), shaper);
  // The receiver sees the relay's drops as sequence gaps, trailing ones included: the sender's
  // stop heartbeat passes the relay unshaped.
  assert.equal(r.recv['in_pkt']! + r.recv['loss_network_pkt']!, r.send['captured']);
  assert.equal(r.recv['loss_network_pkt'], shaper + r.send['dropped_queue']!);
});

for (const wire of ['v1', 'legacy'] as const) {
  test(`drop regime inline (${wire}): nflog-zmq-send --rate-control with a tiny --hwm; pcap = sent − dropped_shaper − other counted drops`, async (t) => {
    if (!requirePrereqs(t, KERNEL_PREREQS)) return;
    const shaping = [
      '--rate-control',
      '--lwm',
      '0.0001',
      '--hwm',
      '0.0002',
      '--wm-interval',
      '0.01',
    ];
    const r = await runPipe(t, {
      senderArgs: wire === 'v1' ? shaping : ['--wire', 'legacy', ...shaping],
      recvArgs: wire === 'v1' ? [] : ['--wire', 'legacy', '--rate-control'],
      seed: wire === 'v1' ? 15 : 16,
    });
    const shaper = r.send['dropped_shaper']!;
    t.diagnostic(`sender shaper dropped ${shaper} of ${COUNT}; ${r.packets} in the pcap`);
    assert.ok(shaper > 0, 'the shaper dropped');
    assert.ok(r.packets > 0, 'the first window passed');
    assert.match(r.sendLog, / rate regime changed .*regime=drop /);
    // v1: every packet the sender read is received or counted lost, also those the shaper
    // dropped after the last delivered one (the sender's stop heartbeat shows them).
    if (wire === 'v1') {
      assert.equal(r.recv['in_pkt']! + r.recv['loss_network_pkt']!, r.send['captured']);
      assert.equal(r.recv['loss_network_pkt'], shaper + r.send['dropped_queue']!);
    }
  });
}

// ---- bad input: no kernel needed ----

const SENDER_A = 0xa1n;
const SENDER_B = 0xb2n;
const SEED_A = 21;
const SEED_B = 22;
const SEED_L = 23;

/** Records of payloadFor(seed, i, 64) for i in [from, from + n). */
/**
 * Records of packets [from, from + n), stamped one second apart from packet 0 on, as one sender's
 * frames are: the receiver's reorder window writes by timestamp.
 */
function records(seed: number, from: number, n: number): Buffer {
  const payloads = Array.from({ length: n }, (_, k) => payloadFor(seed, from + k, 64));
  return makeRecords(payloads, 1_700_000_000 + from);
}

/** A compressed v1 frame with the given deflate section and header claims. */
function deflatedFrame(
  senderId: bigint,
  count: number,
  rawBytes: number,
  deflated: Buffer,
): Buffer {
  return encodeFrame(
    { linktype: 101, senderId, firstSeq: 0n, count, flags: WIRE_FLAG_COMPRESSED, rawBytes },
    deflated,
  );
}

/** Every malformed v1 message class of the issue: two zip bombs, corrupt and truncated deflate. */
function badV1Frames(senderId: bigint): Buffer[] {
  const good = records(0, 0, 4);
  const bomb = deflateRawSync(Buffer.alloc(8 << 20)); // ~8 KiB that inflate to 8 MiB
  const corrupt = Buffer.from(deflateRawSync(good));
  corrupt[0] = corrupt[0]! | 0x06; // BTYPE 11: a reserved (invalid) block type
  const full = deflateRawSync(good);
  return [
    deflatedFrame(senderId, 4, good.length, bomb), // header claims a small rawBytes, deflate expands hugely
    deflatedFrame(senderId, 4, 0xfffffff0, bomb), // header claims ~4 GiB
    deflatedFrame(senderId, 4, good.length, corrupt),
    deflatedFrame(senderId, 4, good.length, full.subarray(0, full.length >> 1)), // truncated stream
  ];
}

/** Good v1 frames of packets [0, 30): plain, compressed, plain; sequence numbers contiguous. */
function goodV1Frames(senderId: bigint, seed: number): Buffer[] {
  const frame = (from: number, n: number): Buffer =>
    encodeFrame(
      { linktype: 101, senderId, firstSeq: BigInt(from), count: n },
      records(seed, from, n),
    );
  const compressed = compressFrame(frame(10, 10));
  assert.ok((compressed[5]! & WIRE_FLAG_COMPRESSED) !== 0, 'the middle frame is really compressed');
  return [frame(0, 10), compressed, frame(20, 10)];
}

async function pushTo(t: TestContext, endpoint: string): Promise<Push> {
  const push = new Push({ linger: 0, sendHighWaterMark: 1000 });
  push.connect(endpoint);
  t.after(() => push.close());
  return push;
}

/** The payload indices of one seed's packets in `data` (64-byte payloads as built above), in order. */
function indicesOf(data: readonly Buffer[], seed: number): number[] {
  return data.filter((d) => d.readUInt32BE(0) === seed).map((d) => d.readUInt32BE(4));
}

test('bad input: zip bombs and corrupt deflate are counted as bad; receiver and decompress relay keep running and exit 0', async (t) => {
  if (!requirePrereqs(t, { tools: ['tcpdump'] })) return;
  const dir = await makeTempDir(t);
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const children = new Children(t);
  const ep = (name: string): string => `ipc://${join(dir, name)}`;

  // v1: test PUSH A → receiver; test PUSH B → decompress relay → the same receiver.
  const recv = await children.start(
    'nflog-pcap-recv',
    [ep('recv.sock'), join(dir, 'v1.pcap'), '--stats-interval', '0.05', ...statsd.cliArgs(R)],
    / started /,
  );
  const decomp = await children.start(
    'nflog-zmq-decompress',
    [ep('decomp.sock'), ep('recv.sock'), '--max-inflate', '1', ...statsd.cliArgs(D)],
    / relaying /,
  );
  // Legacy rate-controlled receiver, with a 1 MiB cap so a 4 MiB zlib window is a bomb.
  const legacy = await children.start(
    'nflog-pcap-recv',
    [
      ep('legacy.sock'),
      join(dir, 'legacy.pcap'),
      '--wire',
      'legacy',
      '--rate-control',
      '--max-frame',
      '1',
      '--stats-interval',
      '0.05',
      ...statsd.cliArgs('l.'),
    ],
    / started /,
  );
  const a = await pushTo(t, ep('recv.sock'));
  const b = await pushTo(t, ep('decomp.sock'));
  const l = await pushTo(t, ep('legacy.sock'));

  const badA = badV1Frames(SENDER_A);
  const badB = badV1Frames(SENDER_B);
  // Legacy: corrupt zlib, a zlib bomb past the cap, a bad first byte, a garbage XDR packet, and a
  // window whose length prefix runs past its end.
  const xdr = (i: number): Buffer => {
    const data = payloadFor(SEED_L, i, 64);
    return encodeLegacyPacket(1_700_000_000 + i, i, data.length, data);
  };
  const zlibWindow = (msgs: Buffer[]): Buffer =>
    Buffer.concat(
      msgs.flatMap((m) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(m.length);
        return [len, m];
      }),
    );
  const overrun = zlibWindow([xdr(0)]);
  overrun.writeUInt32BE(overrun.length, 0);
  const badL = [
    Buffer.concat([
      Buffer.from([0x01]),
      Buffer.from('not a zlib stream at all, just garbage bytes'),
    ]),
    Buffer.concat([Buffer.from([0x01]), deflateSync(Buffer.alloc(4 << 20))]),
    Buffer.from([0x02, 1, 2, 3]),
    Buffer.from([0x00, 0xde, 0xad]),
    Buffer.concat([Buffer.from([0x01]), deflateSync(overrun)]),
  ];
  for (const m of badA) await a.send(m);
  for (const m of badB) await b.send(m);
  for (const m of badL) await l.send(m);

  // Good input afterwards (same connections, so it is handled after the bad input).
  for (const m of goodV1Frames(SENDER_A, SEED_A)) await a.send(m);
  for (const m of goodV1Frames(SENDER_B, SEED_B)) await b.send(m);
  const goodL = [
    Buffer.concat([Buffer.from([0x00]), xdr(0)]),
    Buffer.concat([
      Buffer.from([0x01]),
      deflateSync(zlibWindow([1, 2, 3, 4, 5, 6, 7, 8].map(xdr))),
    ]),
    Buffer.concat([Buffer.from([0x00]), xdr(9)]),
  ];
  for (const m of goodL) await l.send(m);

  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['out_pkt'] === 60,
    'v1 receiver wrote 60 packets',
  );
  await waitForLogCounters(
    legacy,
    'stats',
    (c) => c['out_pkt'] === 10,
    'legacy receiver wrote 10 packets',
  );
  const dc = parseLogCounters(await stopCleanly(decomp, 'nflog-zmq-decompress'));
  const rc = parseLogCounters(await stopCleanly(recv, 'nflog-pcap-recv (v1)'));
  const lc = parseLogCounters(await stopCleanly(legacy, 'nflog-pcap-recv (legacy)'));

  assert.equal(rc['bad_frames'], badA.length, 'receiver: every bad frame sent to it directly');
  assert.equal(dc[statsdName(METRIC.BAD_FRAMES)], badB.length, 'decompress relay: every bad frame');
  assert.equal(
    dc[statsdName(METRIC.DECOMPRESS_OUT_PKT)],
    30,
    'decompress relay forwarded the good packets',
  );
  assert.equal(lc['bad_frames'], badL.length, 'legacy receiver: every bad message');
  assert.deepEqual([rc['in_pkt'], rc['out_pkt'], rc['loss_network_pkt']], [60, 60, 0]);
  assert.deepEqual([lc['in_pkt'], lc['out_pkt']], [10, 10]);
  await statsd.waitFor(`${R}${statsdName(METRIC.BAD_FRAMES)}`, (v) => v === badA.length);
  await statsd.waitFor(`${D}${statsdName(METRIC.BAD_FRAMES)}`, (v) => v === badB.length);
  await statsd.waitFor(`l.${statsdName(METRIC.BAD_FRAMES)}`, (v) => v === badL.length);

  const v1 = (await readPcapFile(join(dir, 'v1.pcap'))).records.map((r) => r.data);
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  assert.deepEqual(indicesOf(v1, SEED_A), upTo(30));
  assert.deepEqual(indicesOf(v1, SEED_B), upTo(30));
  for (const d of v1) assert.ok(d.equals(payloadFor(d.readUInt32BE(0), d.readUInt32BE(4), 64)));
  const leg = (await readPcapFile(join(dir, 'legacy.pcap'))).records.map((r) => r.data);
  assert.deepEqual(
    leg,
    upTo(10).map((i) => payloadFor(SEED_L, i, 64)),
  );
  assert.equal((await tcpdumpRead(join(dir, 'v1.pcap'))).count, 60);
  assert.equal((await tcpdumpRead(join(dir, 'legacy.pcap'))).count, 10);
});
