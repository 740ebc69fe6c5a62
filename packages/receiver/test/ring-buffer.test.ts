// Proves the ring keeps exactly the newest records that fit its byte window, in memory it owns (copies, in segments it reuses), and that a snapshot's views stay byte-exact however much is pushed after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iterateRecords } from '@nflog-pipe/pcap-writer';
import { RING_SEGMENT_BYTES, RingBuffer, type RingBatch } from '@nflog-pipe/receiver';
import { numbered, records } from './helpers.js';

const REC = 76; // 16 + 20 + 8 + 32: one numbered() record

function idsOf(batches: readonly RingBatch[]): number[] {
  const out: number[] = [];
  for (const b of batches) {
    let n = 0;
    for (const r of iterateRecords(b.records)) {
      out.push(r.data.readUInt32BE(28));
      n++;
    }
    assert.equal(n, b.count, 'each batch holds its count of whole records');
  }
  return out;
}

const ids = (ring: RingBuffer): number[] => idsOf(ring.snapshot());
const batch = (from: number, n: number): Buffer =>
  records(Array.from({ length: n }, (_, i) => numbered(from + i)));

test('keeps whole batches while they fit, as copies: the pushed buffers are not kept', () => {
  assert.equal(records([numbered(0)]).length, REC);
  const ring = new RingBuffer(10_000);
  const a = batch(0, 2);
  const b = batch(2, 1);
  ring.push(a, 2);
  ring.push(b, 1);
  a.fill(0);
  b.fill(0xff);
  assert.deepEqual(ids(ring), [0, 1, 2]);
  assert.deepEqual(ring.stats(), {
    packets: 3,
    bytes: 3 * REC,
    batches: 2,
    trimmedPackets: 0,
    arenaBytes: 10_000, // one segment: the window is smaller than RING_SEGMENT_BYTES
  });
});

test('trims by bytes at record boundaries: the newest records within the window remain', () => {
  const ring = new RingBuffer(REC * 5 + 10); // room for 5 records (and 10 spare bytes)
  ring.push(batch(0, 3), 3);
  ring.push(batch(3, 3), 3);
  assert.deepEqual(ids(ring), [1, 2, 3, 4, 5]);
  assert.deepEqual(ring.stats().trimmedPackets, 1);
  ring.push(batch(6, 4), 4);
  assert.deepEqual(ids(ring), [5, 6, 7, 8, 9]);
  const s = ring.stats();
  assert.deepEqual([s.packets, s.bytes, s.trimmedPackets], [5, REC * 5, 5]);
});

test('a batch larger than the window keeps only its newest records; window 0 keeps nothing', () => {
  const ring = new RingBuffer(REC * 2);
  ring.push(batch(0, 4), 4);
  assert.deepEqual(ids(ring), [2, 3]);
  assert.equal(ring.stats().trimmedPackets, 2);
  const none = new RingBuffer(0);
  none.push(batch(0, 1), 1);
  assert.deepEqual(none.snapshot(), []);
  assert.deepEqual(none.stats(), {
    packets: 0,
    bytes: 0,
    batches: 0,
    trimmedPackets: 1,
    arenaBytes: 0,
  });
});

test('wrap-around many times over small segments: exactly the newest records, batches split at record boundaries, memory bounded', () => {
  const window = REC * 100 + 50;
  const segmentBytes = REC * 7 + 30; // 7 records per segment, a batch often split across two
  const ring = new RingBuffer(window, { segmentBytes });
  let next = 0;
  let maxArena = 0;
  for (let round = 0; round < 3000; round++) {
    const n = 1 + (round % 9);
    ring.push(batch(next, n), n);
    next += n;
    const s = ring.stats();
    assert.ok(s.bytes <= window);
    maxArena = Math.max(maxArena, s.arenaBytes);
  }
  assert.deepEqual(
    ids(ring),
    Array.from({ length: 100 }, (_, i) => next - 100 + i),
  );
  const s = ring.stats();
  assert.deepEqual([s.packets, s.bytes, s.trimmedPackets], [100, REC * 100, next - 100]);
  // The window's records spread over at most ceil(100 / 7) + 1 segments, plus one being
  // filled and one spare: no more memory than that, however long it runs.
  assert.ok(maxArena <= (Math.ceil(100 / 7) + 3) * segmentBytes, `arena ${maxArena}`);
});

test("a snapshot's views stay byte-exact while the ring wraps over its segments many times", () => {
  const segmentBytes = REC * 10;
  const ring = new RingBuffer(REC * 30, { segmentBytes });
  let next = 0;
  const push = (n: number): void => {
    ring.push(batch(next, n), n);
    next += n;
  };
  for (let i = 0; i < 10; i++) push(4);
  const held = ring.snapshot();
  const copies = held.map((b) => Buffer.from(b.records));
  const heldIds = idsOf(held);
  assert.deepEqual(
    heldIds,
    Array.from({ length: 30 }, (_, i) => 10 + i),
  );
  const arenaBefore = ring.stats().arenaBytes;
  for (let i = 0; i < 200; i++) push(3); // 600 records: the window turns over 20 times
  held.forEach((b, i) => assert.ok(b.records.equals(copies[i]!), `view ${i} unchanged`));
  assert.deepEqual(idsOf(held), heldIds);
  assert.deepEqual(
    ids(ring),
    Array.from({ length: 30 }, (_, i) => next - 30 + i),
  );
  // The segments the snapshot saw were let go (not reused); the ring's own memory stayed bounded.
  assert.ok(ring.stats().arenaBytes <= arenaBefore + 2 * segmentBytes);
});

test('default segments are RING_SEGMENT_BYTES; a record larger than a segment is not kept', () => {
  assert.equal(RING_SEGMENT_BYTES, 2 * 1024 * 1024);
  const big = new RingBuffer(64 * 1024 * 1024);
  big.push(batch(0, 1), 1);
  assert.equal(big.stats().arenaBytes, RING_SEGMENT_BYTES);
  const tiny = new RingBuffer(REC * 4, { segmentBytes: REC - 1 });
  tiny.push(batch(0, 2), 2);
  assert.deepEqual(tiny.stats().packets, 0);
  assert.deepEqual(tiny.stats().trimmedPackets, 2);
});

test('rejects a bad window or segment size', () => {
  assert.throws(() => new RingBuffer(-1), RangeError);
  assert.throws(() => new RingBuffer(1.5), RangeError);
  assert.throws(() => new RingBuffer(100, { segmentBytes: 0 }), RangeError);
});
