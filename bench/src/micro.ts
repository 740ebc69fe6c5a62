// Microbenchmarks of the hot code, in packets/s and MB/s, each with its ratio against a baseline
// measured in the same run on the same bytes (Buffer.copy of the records), so a regression shows
// up as a falling ratio whatever the machine. No root needed: npm run bench -- --micro
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRecords, PcapWriter } from '@nflog-pipe/pcap-writer';
import { MIB, decodeFrame, encodeFrame } from '@nflog-pipe/shared';
import { RateShaper, shapeFrame } from '@nflog-pipe/compress';
import { ReorderWindow, RingBuffer, selectRecords } from '@nflog-pipe/receiver';
import { NFLOG_SHARD_BUCKETS, groupByShard, parseNflogMessages } from '@nflog-pipe/nflog-native';
import { NF_INET, nflogDatagram } from '@nflog-pipe/testing';

/** One microbenchmark result. */
export interface MicroResult {
  name: string;
  /** UDP payload bytes of each packet (the IP packet is 28 bytes longer). */
  sizeBytes: number;
  /** Packets per second. */
  pps: number;
  /** Record bytes (16-byte pcap header + IP packet) per second, in MB/s (10^6). */
  mbps: number;
  /** This case's MB/s divided by the baseline's (Buffer.copy of the same records) in this run. */
  ratioToCopy: number;
}

/** Packets per batch: what one kernel read / one v1 frame typically carries under load. */
const BATCH_PACKETS = 64;

/** A deterministic IPv4/UDP packet 10.0.0.1:5000 -> 10.0.0.2:(6000 + i % 4) with `size` payload bytes. */
function ipv4Udp(i: number, size: number): Buffer {
  const b = Buffer.alloc(28 + size);
  b[0] = 0x45;
  b.writeUInt16BE(28 + size, 2);
  b[8] = 64;
  b[9] = 17;
  b.set([10, 0, 0, 1], 12);
  b.set([10, 0, 0, 2], 16);
  b.writeUInt16BE(5000, 20);
  b.writeUInt16BE(6000 + (i % 4), 22);
  b.writeUInt16BE(8 + size, 24);
  for (let j = 28; j < b.length; j++) b[j] = (i + j) & 0xff;
  return b;
}

/**
 * One kernel batch of BATCH_PACKETS NFLOG messages carrying ipv4Udp packets, as the netlink socket
 * delivers it: the input hook (kernel timestamp, input interface) or the output hook (no
 * timestamp, output interface only, and the UDP checksum left partial as with checksum offload).
 */
function nflogBatchOf(size: number, base: number, hook: 'input' | 'output'): Buffer {
  const packets = [];
  for (let i = 0; i < BATCH_PACKETS; i++) {
    const payload = ipv4Udp(base + i, size);
    if (hook === 'output') payload.writeUInt16BE(0x1234, 26);
    packets.push({
      group: 7,
      seq: base + i,
      seqGlobal: base + i + 1,
      payload,
      ...(hook === 'input'
        ? { hook: NF_INET.LOCAL_IN, indev: 1, ts: [1_700_000_000, i] as [number, number] }
        : { hook: NF_INET.LOCAL_OUT, outdev: 1 }),
    });
  }
  return nflogDatagram(packets);
}

function batchOf(size: number, base: number): Buffer {
  const packets = [];
  for (let i = 0; i < BATCH_PACKETS; i++) {
    packets.push({ tsSec: 1_700_000_000 + base, tsFrac: i, data: ipv4Udp(base + i, size) });
  }
  return encodeRecords(packets);
}

/**
 * Calls `step` (which handles one batch of BATCH_PACKETS packets and `bytes` bytes) until
 * `ms` have passed; returns packets/s and MB/s.
 */
async function measureRound(
  ms: number,
  bytesPerStep: number,
  step: (i: number) => void | Promise<void>,
): Promise<{ pps: number; mbps: number }> {
  // Warm up so the JIT has compiled the hot path before the clock starts.
  for (let i = 0; i < 200; i++) await step(i);
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms * 1e6));
  let steps = 0;
  let elapsed = 0n;
  do {
    for (let k = 0; k < 100; k++) await step(steps + k);
    steps += 100;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < limit);
  const seconds = Number(elapsed) / 1e9;
  return { pps: (steps * BATCH_PACKETS) / seconds, mbps: (steps * bytesPerStep) / seconds / 1e6 };
}

/** Rounds per case; the median round is reported, so a hiccup of the machine does not count. */
const ROUNDS = 3;

function medianRound(rounds: { pps: number; mbps: number }[]): { pps: number; mbps: number } {
  const sorted = [...rounds].sort((a, b) => a.mbps - b.mbps);
  return sorted[sorted.length >> 1] as { pps: number; mbps: number };
}

/** measureRound() ROUNDS times for ms/ROUNDS each; the median round. */
async function measure(
  ms: number,
  bytesPerStep: number,
  step: (i: number) => void | Promise<void>,
): Promise<{ pps: number; mbps: number }> {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await measureRound(ms / ROUNDS, bytesPerStep, step));
  return medianRound(rounds);
}

/** measureOnceRound() ROUNDS times for ms/ROUNDS each; the median round. */
async function measureOnce(
  ms: number,
  step: () => { packets: number; bytes: number },
): Promise<{ pps: number; mbps: number }> {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await measureOnceRound(ms / ROUNDS, step));
  return medianRound(rounds);
}

/** Like measure() for operations that each handle a whole ring (packets and bytes from `step`). */
async function measureOnceRound(
  ms: number,
  step: () => { packets: number; bytes: number },
): Promise<{ pps: number; mbps: number }> {
  step();
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms * 1e6));
  let packets = 0;
  let bytes = 0;
  let elapsed = 0n;
  do {
    const r = step();
    packets += r.packets;
    bytes += r.bytes;
    elapsed = process.hrtime.bigint() - start;
    await Promise.resolve();
  } while (elapsed < limit);
  const seconds = Number(elapsed) / 1e9;
  return { pps: packets / seconds, mbps: bytes / seconds / 1e6 };
}

/** Renders micro results as a fixed-width table. */
export function renderMicro(results: readonly MicroResult[]): string {
  const head = ['size', 'case', 'pkts/s', 'MB/s', 'x copy'];
  const body = results.map((r) => [
    String(r.sizeBytes),
    r.name,
    Math.round(r.pps).toLocaleString('en-US'),
    r.mbps.toFixed(0),
    r.ratioToCopy.toFixed(3),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (c: string[]): string =>
    c.map((x, i) => (i === 1 ? x.padEnd(w[i] ?? 0) : x.padStart(w[i] ?? 0))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** Runs every microbenchmark for each size, prints a table and writes a JSON file; returns the results. */
export async function runMicro(
  options: { ms?: number; sizes?: number[]; json?: string } = {},
): Promise<MicroResult[]> {
  const ms = options.ms ?? 600;
  const sizes = options.sizes ?? [64, 512, 1400];
  const results: MicroResult[] = [];
  for (const size of sizes) {
    const batches = Array.from({ length: 16 }, (_, i) => batchOf(size, i * BATCH_PACKETS));
    const bytes = (batches[0] as Buffer).length;
    const pick = (i: number): Buffer => batches[i & 15] as Buffer;
    const row = (name: string, r: { pps: number; mbps: number }, base: number): void => {
      results.push({ name, sizeBytes: size, pps: r.pps, mbps: r.mbps, ratioToCopy: r.mbps / base });
    };

    const target = Buffer.allocUnsafe(bytes);
    const copy = await measure(ms, bytes, (i) => {
      pick(i).copy(target);
    });
    row('baseline: Buffer.copy', copy, copy.mbps);

    // The sender's C walker (nflog-native), one kernel batch per call, as parseNflogMessages
    // replays it: netlink messages to pcap records, and on the output hook the checksums.
    for (const hook of ['input', 'output'] as const) {
      const dgrams = Array.from({ length: 16 }, (_, i) =>
        nflogBatchOf(size, i * BATCH_PACKETS, hook),
      );
      row(
        `nflog walker: ${hook} hook`,
        await measure(ms, bytes, (i) => {
          parseNflogMessages(dgrams[i & 15] as Buffer, 101);
        }),
        copy.mbps,
      );
    }

    // The sender's split of one read by shard (--shard flow over 4 endpoints): one native call
    // reading each record's flow hash and copying the record once.
    {
      const reads = Array.from({ length: 16 }, (_, i) =>
        parseNflogMessages(nflogBatchOf(size, i * BATCH_PACKETS, 'input'), 101),
      );
      const table = new Uint8Array(NFLOG_SHARD_BUCKETS).map((_, b) => b & 3);
      const perShard = new Uint32Array(8);
      row(
        'groupByShard (4 shards)',
        await measure(ms, bytes, (i) => {
          const r = reads[i & 15]!;
          groupByShard(r.records, r.index, table, 4, perShard);
        }),
        copy.mbps,
      );
    }

    const fields = { linktype: 101, senderId: 0x1234n, firstSeq: 0n, count: BATCH_PACKETS };
    row(
      'encodeFrame',
      await measure(ms, bytes, (i) => {
        encodeFrame({ ...fields, firstSeq: BigInt(i * BATCH_PACKETS) }, pick(i));
      }),
      copy.mbps,
    );
    const frames = batches.map((b, i) =>
      encodeFrame({ ...fields, firstSeq: BigInt(i * BATCH_PACKETS) }, b),
    );
    row(
      'decodeFrame',
      await measure(ms, bytes, (i) => {
        decodeFrame(frames[i & 15] as Buffer);
      }),
      copy.mbps,
    );

    // Rate control in the compress regime, per frame: what the sender does with one batch (its
    // pieces into a compressed frame), and what the compress relay does with one received frame
    // (decode it, then compress it). Both go through shapeFrame, with a shaper that stays in
    // 'compress' (every 1-byte window closes at an infinite rate). Deflate (zlib level 6)
    // dominates both.
    const compressing = new RateShaper({ lwmBps: 1, hwmBps: 0, windowBytes: 1, now: () => 0 });
    compressing.verdict(2);
    row(
      'sender: batch -> compressed frame',
      await measure(ms, bytes, (i) => {
        const f = { ...fields, firstSeq: BigInt(i * BATCH_PACKETS) };
        shapeFrame(compressing, { fields: f, records: [pick(i)] });
      }),
      copy.mbps,
    );
    row(
      'compress relay: frame -> compressed',
      await measure(ms, bytes, (i) => {
        const frame = frames[i & 15] as Buffer;
        const f = decodeFrame(frame);
        shapeFrame(compressing, { fields: f, records: f.records, encoded: frame });
      }),
      copy.mbps,
    );

    // The writer queues without copying; wait for 'drain' when it says so, like the receiver does.
    const writer = await PcapWriter.open('/dev/null', { linktype: 101 });
    row(
      'PcapWriter.write -> /dev/null',
      await measure(ms, bytes, async (i) => {
        if (!writer.write(pick(i))) await new Promise((resolve) => writer.once('drain', resolve));
      }),
      copy.mbps,
    );
    await writer.close();

    // The receiver's packet path per v1 frame: decode (the one walk of its records, which also
    // converts them with --pcap-nsec) and hand them to the pcap writer with their count. With
    // nanoseconds the records are rewritten in place, so each step decodes a fresh copy of the
    // frame, as ZeroMQ hands the receiver a fresh message.
    for (const nanosecond of [false, true]) {
      const out = await PcapWriter.open('/dev/null', { linktype: 101, nanosecond });
      row(
        `receiver: frame -> PcapWriter${nanosecond ? ' (nsec)' : ''}`,
        await measure(ms, bytes, async (i) => {
          const msg = frames[i & 15] as Buffer;
          const f = decodeFrame(nanosecond ? Buffer.from(msg) : msg, { nanosecond });
          if (!out.write(f.records, f.count)) await new Promise((r) => out.once('drain', r));
        }),
        copy.mbps,
      );
      await out.close();
    }

    // Shaper: one verdict per frame, at a rate that keeps it in the 'pass' regime (its common case),
    // on an injected clock advancing 1 ms per frame.
    let clock = 0;
    const shaper = new RateShaper({ lwmBps: 1e12, hwmBps: 2e12, now: () => clock });
    row(
      'RateShaper.verdict',
      await measure(ms, bytes, () => {
        clock += 1;
        shaper.verdict(bytes);
      }),
      copy.mbps,
    );

    // The reorder window. Fast path: one sender alone with the kernel-order section, each
    // batch passed on as it is (one walk reading the timestamps). Held: two senders without
    // numbers on a clock advancing 1 ms per batch with a 16 ms window, so ~16 batches are held
    // and every record goes through a heap and is copied once into its output batch.
    const seqGlobal = Buffer.alloc(BATCH_PACKETS * 4);
    const order = { namespaceId: Buffer.alloc(24, 1), delayBoundMs: 20, seqGlobal };
    const fast = new ReorderWindow({ windowMs: 200, bufferBytes: 64 * MIB, onRelease: () => {} });
    let seq = 0; // the kernel's numbers go on across measure()'s rounds, which restart i
    row(
      'reorder window: fast path',
      await measure(ms, bytes, (i) => {
        for (let k = 0; k < BATCH_PACKETS; k++) seqGlobal.writeUInt32LE(++seq >>> 0, k * 4);
        fast.push(pick(i), BATCH_PACKETS, 1n, order);
      }),
      copy.mbps,
    );
    if (fast.stats().latePackets !== 0) throw new Error('the fast path case was not one');
    let tick = 0;
    const held = new ReorderWindow({
      windowMs: 16,
      bufferBytes: 64 * MIB,
      onRelease: () => {},
      now: () => tick,
      setTimer: () => () => {},
    });
    row(
      'reorder window: held, 2 senders',
      await measure(ms, bytes, (i) => {
        tick++;
        held.push(pick(i), BATCH_PACKETS, BigInt(i & 1));
      }),
      copy.mbps,
    );

    // Ring buffer: a 64 MiB window, so trimming runs on every push once it is full.
    const ring = new RingBuffer(64 * MIB);
    row(
      'RingBuffer.push+trim (64 MiB)',
      await measure(ms, bytes, (i) => {
        ring.push(pick(i), BATCH_PACKETS);
      }),
      copy.mbps,
    );
    // Dump: what the query server does per request on the full window (snapshot + selectRecords;
    // it sends the parts as a multipart reply without concatenating): all of it, then one port
    // in four (every record parsed, matching ones copied). Rates count the packets scanned.
    const format = { linktype: 101, nanosecond: false };
    for (const [name, filter] of [
      ['RingBuffer dump (select, all)', null],
      ['RingBuffer dump, port filter', { port: 6001 }],
    ] as const) {
      const r = await measureOnce(ms, () => {
        const sel = selectRecords(ring.snapshot(), filter, format);
        if (sel.packets < 0) throw new Error('unreachable');
        return ring.stats();
      });
      results.push({
        name,
        sizeBytes: size,
        pps: r.pps,
        mbps: r.mbps,
        ratioToCopy: r.mbps / copy.mbps,
      });
    }
  }
  process.stdout.write(`${renderMicro(results)}\n`);
  const json =
    options.json ??
    join(
      dirname(fileURLToPath(import.meta.url)),
      '..',
      'results',
      `micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
  await mkdir(dirname(json), { recursive: true });
  await writeFile(
    json,
    `${JSON.stringify({ batchPackets: BATCH_PACKETS, ms, results }, null, 2)}\n`,
  );
  process.stdout.write(`\nresults: ${json}\n`);
  return results;
}
