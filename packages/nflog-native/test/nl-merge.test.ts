// Proves the kernel-order merge (replayNflog: the drain's conversion with the clocks given) releases a socket's groups in NFULA_SEQ_GLOBAL order as soon as nothing older can come, holds no record longer than its hold once the socket is empty, counts what breaks the order, and keeps receipt timestamps from going backwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NF_INET, nflogDatagram, payloadFor, type NflogMessageSpec } from '@nflog-pipe/testing';
import {
  NFLOG_INDEX_ENTRY_BYTES,
  NFLOG_RECORD_FLAG as F,
  indexFlags,
  indexSeqGlobal,
  parseNflogMessages,
  replayNflog,
  type NflogBatch,
  type NflogReplayEvent,
} from '../src/index.js';
import { readDatagrams, splitRecords } from './helpers.js';

const HOLD_MS = 30;

/** A small UDP/IPv4 packet whose payload names its sequence number. */
function pkt(seqGlobal: number): Buffer {
  const b = Buffer.alloc(36);
  b[0] = 0x45;
  b.writeUInt16BE(36, 2);
  b[9] = 17;
  payloadFor(seqGlobal, 0, 8).copy(b, 28);
  return b;
}

/** A received packet (input hook: not ours to complete) of `group` with that global number. */
function msg(group: number, seqGlobal: number, ts?: [number, number]): NflogMessageSpec {
  return {
    group,
    hook: NF_INET.LOCAL_IN,
    indev: 1,
    seqGlobal,
    payload: pkt(seqGlobal),
    ...(ts !== undefined ? { ts } : {}),
  };
}

function seqsOf(b: NflogBatch): number[] {
  return Array.from({ length: b.count }, (_, i) => indexSeqGlobal(b.index, i));
}

function replay(
  events: NflogReplayEvent[],
  groups: number[] = [1, 2],
): ReturnType<typeof replayNflog> & { released: number[][] } {
  const r = replayNflog(events, { linktype: 101, groups, orderHoldMs: HOLD_MS });
  for (const b of r.batches) {
    assert.equal(b.index.length, b.count * NFLOG_INDEX_ENTRY_BYTES);
    assert.equal(splitRecords(b.records).length, b.count);
  }
  return { ...r, released: r.batches.map(seqsOf) };
}

test('recorded capture: batches read out of kernel order come out in NFULA_SEQ_GLOBAL order, unchanged', () => {
  const datagrams = readDatagrams('nflog-order.bin');
  // Read 1 ms apart; then a drain that finds the socket empty after the hold (the timer).
  const events = [
    ...datagrams.map((d, i) => ({ datagram: d, nowMs: i })),
    { nowMs: datagrams.length + HOLD_MS },
  ];
  const merged = replay(events, [7, 8]);
  const direct = datagrams.map((d) => parseNflogMessages(d, 101));
  const arrival = direct.flatMap((r) => seqsOf(r));
  assert.notDeepEqual(
    arrival,
    [...arrival].sort((a, b) => a - b),
    'the recording arrived out of order',
  );
  const out = merged.released.flat();
  assert.deepEqual(
    out,
    Array.from({ length: arrival.length }, (_, i) => i + 1),
  );
  assert.deepEqual([merged.orderLate, merged.orderForced, merged.held], [0, 0, 0]);
  // The same records, byte for byte (timestamps aside: receipt times may be clamped earlier).
  const bySeq = new Map<number, Buffer>();
  for (const r of direct)
    splitRecords(r.records).forEach((x, i) => bySeq.set(indexSeqGlobal(r.index, i), x.data));
  for (const b of merged.batches)
    splitRecords(b.records).forEach((x, i) =>
      assert.deepEqual(x.data, bySeq.get(indexSeqGlobal(b.index, i))),
    );
});

test('released as soon as every group has delivered something at least as new', () => {
  const r = replay([
    { datagram: nflogDatagram([msg(2, 2), msg(2, 4), msg(2, 6)]), nowMs: 0 }, // group 1 not seen yet
    { datagram: nflogDatagram([msg(1, 1), msg(1, 3), msg(1, 5)]), nowMs: 1 }, // 5 < 6: up to 5
    { datagram: nflogDatagram([msg(1, 7)]), nowMs: 2 }, // group 2's 6 goes, 7 waits for group 2
    { datagram: nflogDatagram([msg(2, 8)]), nowMs: 3 },
  ]);
  assert.deepEqual(r.released, [[], [1, 2, 3, 4, 5], [6], [7]]);
  assert.equal(r.held, 1);
});

test('an idle group: records wait their hold, and only once the socket was read empty', () => {
  const r = replay([
    { datagram: nflogDatagram([msg(1, 10), msg(1, 11)]), nowMs: 100 },
    { datagram: nflogDatagram([msg(1, 12)]), nowMs: 120 },
    { nowMs: 100 + HOLD_MS - 1 }, // not yet
    { nowMs: 100 + HOLD_MS, empty: false }, // due, but a datagram may still be queued
    { nowMs: 100 + HOLD_MS }, // due and the socket is empty: 10, 11
    { nowMs: 120 + HOLD_MS + 5 }, // 12
  ]);
  assert.deepEqual(r.released, [[], [], [], [], [10, 11], [12]]);
  assert.equal(r.held, 0);
});

test('a record older than one already released goes out at once, counted late', () => {
  const r = replay([
    { datagram: nflogDatagram([msg(1, 20)]), nowMs: 0 },
    { nowMs: HOLD_MS }, // 20 released by its hold
    { datagram: nflogDatagram([msg(2, 19), msg(2, 21)]), nowMs: HOLD_MS + 1 }, // 19 is late
  ]);
  assert.deepEqual(r.released, [[], [20], [19]]);
  assert.equal(r.orderLate, 1);
  assert.equal(r.held, 1);
});

test('flush releases everything held, in kernel order', () => {
  const r = replay([
    { datagram: nflogDatagram([msg(2, 5), msg(2, 6)]), nowMs: 0 },
    { datagram: nflogDatagram([msg(2, 9)]), nowMs: 1 },
    { datagram: nflogDatagram([msg(1, 8)]), nowMs: 2, empty: false, flush: true },
  ]);
  assert.deepEqual(r.released, [[], [], [5, 6, 8, 9]]);
  assert.equal(r.held, 0);
});

test('the sequence number wraps at 2^32 without reordering', () => {
  const max = 0xffffffff;
  const r = replay([
    { datagram: nflogDatagram([msg(2, max - 1), msg(2, 1)]), nowMs: 0 },
    { datagram: nflogDatagram([msg(1, max), msg(1, 0), msg(1, 2)]), nowMs: 1 },
    { nowMs: 1 + HOLD_MS },
  ]);
  assert.deepEqual(r.released.flat(), [max - 1, max, 0, 1, 2]);
});

test('receipt timestamps never go backwards in kernel order; kernel timestamps stay as they are', () => {
  // Group 2 (no kernel timestamps) read at t=5 s; its older packets of group 1 read at t=9 s.
  const out = (p: number): NflogMessageSpec => ({
    ...msg(1, p),
    hook: NF_INET.LOCAL_OUT,
    indev: undefined,
    outdev: 1,
  });
  const r = replayNflog(
    [
      {
        datagram: nflogDatagram([
          { ...out(2), group: 2 },
          { ...out(4), group: 2 },
        ]),
        nowMs: 0,
        wallSec: 5,
      },
      {
        datagram: nflogDatagram([out(1), out(3), msg(1, 5, [3, 7]), out(6)]),
        nowMs: 1,
        wallSec: 9,
      },
      { nowMs: 1 + HOLD_MS },
    ],
    { linktype: 101, groups: [1, 2], orderHoldMs: HOLD_MS, checksums: 'as-logged' },
  );
  const recs = r.batches.flatMap((b) =>
    splitRecords(b.records).map((x, i) => ({
      seq: indexSeqGlobal(b.index, i),
      ts: x.tsSec,
      kernel: (indexFlags(b.index, i) & F.KERNEL_TS) !== 0,
    })),
  );
  assert.deepEqual(recs, [
    { seq: 1, ts: 5, kernel: false }, // read at 9, but 2 (read at 5) was logged after it
    { seq: 2, ts: 5, kernel: false },
    { seq: 3, ts: 5, kernel: false },
    { seq: 4, ts: 5, kernel: false },
    { seq: 5, ts: 3, kernel: true },
    { seq: 6, ts: 9, kernel: false },
  ]);
});

test('one group: no hold, arrival order', () => {
  const r = replay(
    [
      { datagram: nflogDatagram([msg(1, 3), msg(1, 4)]), nowMs: 0 },
      { datagram: nflogDatagram([msg(1, 9)]), nowMs: 1 },
    ],
    [1],
  );
  assert.deepEqual(r.released, [[3, 4], [9]]);
});

test('bounded: above 32 MiB held, the oldest records leave early and are counted', () => {
  // Group 2 never speaks, so group 1's records wait for their hold; 600 batches of 60 KiB.
  const big = Buffer.alloc(60 * 1024);
  big[0] = 0x45;
  big.writeUInt16BE(0, 2); // BIG TCP-style length: irrelevant here, only the size matters
  const events: NflogReplayEvent[] = [];
  for (let i = 0; i < 600; i++)
    events.push({
      datagram: nflogDatagram([{ ...msg(1, i + 1), payload: big }]),
      nowMs: 0,
      empty: false,
    });
  const r = replay(events);
  const released = r.released.flat();
  assert.ok(r.orderForced > 0 && r.orderForced === released.length, `forced ${r.orderForced}`);
  assert.deepEqual(
    released,
    Array.from({ length: released.length }, (_, i) => i + 1),
  );
  assert.ok(r.held * (big.length + 16) <= 33 * 1024 * 1024, `held ${r.held}`);
  assert.equal(r.held + released.length, 600);
});
