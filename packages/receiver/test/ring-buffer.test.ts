// Proves the ring keeps exactly the newest records that fit its byte window, without copying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iterateRecords } from '@nflog-pipe/pcap-writer';
import { RingBuffer } from '@nflog-pipe/receiver';
import { numbered, records } from './helpers.js';

function ids(ring: RingBuffer): number[] {
  const out: number[] = [];
  for (const b of ring.snapshot())
    for (const r of iterateRecords(b.records)) out.push(r.data.readUInt32BE(28));
  return out;
}

test('keeps whole batches while they fit and shares their buffers', () => {
  const ring = new RingBuffer(10_000);
  const a = records([numbered(0), numbered(1)]);
  const b = records([numbered(2)]);
  ring.push(a, 2);
  ring.push(b, 1);
  const snap = ring.snapshot();
  assert.equal(snap.length, 2);
  assert.equal(snap[0]!.records, a); // same Buffer object: no copy
  assert.equal(snap[1]!.records, b);
  assert.deepEqual(ring.stats(), {
    packets: 3,
    bytes: a.length + b.length,
    batches: 2,
    trimmedPackets: 0,
  });
});

test('trims by bytes at record boundaries: the newest records within the window remain', () => {
  const rec = records([numbered(0)]).length; // 16 + 20 + 8 + 32 = 76 bytes per record
  assert.equal(rec, 76);
  const ring = new RingBuffer(rec * 5 + 10); // room for 5 records (and 10 spare bytes)
  ring.push(records([0, 1, 2].map((i) => numbered(i))), 3);
  ring.push(records([3, 4, 5].map((i) => numbered(i))), 3);
  assert.deepEqual(ids(ring), [1, 2, 3, 4, 5]);
  assert.deepEqual(ring.stats(), { packets: 5, bytes: rec * 5, batches: 2, trimmedPackets: 1 });
  ring.push(records([6, 7, 8, 9].map((i) => numbered(i))), 4);
  assert.deepEqual(ids(ring), [5, 6, 7, 8, 9]);
  assert.deepEqual(ring.stats(), { packets: 5, bytes: rec * 5, batches: 2, trimmedPackets: 5 });
});

test('a batch larger than the window keeps only its newest records; window 0 keeps nothing', () => {
  const rec = 76;
  const ring = new RingBuffer(rec * 2);
  ring.push(records([0, 1, 2, 3].map((i) => numbered(i))), 4);
  assert.deepEqual(ids(ring), [2, 3]);
  const none = new RingBuffer(0);
  none.push(records([numbered(0)]), 1);
  assert.deepEqual(none.snapshot(), []);
  assert.equal(none.stats().trimmedPackets, 1);
});

test('many pushes: held bytes never exceed the window and equal the newest records', () => {
  const rec = 76;
  const ring = new RingBuffer(rec * 100 + 50);
  let next = 0;
  for (let round = 0; round < 3000; round++) {
    const n = 1 + (round % 7);
    ring.push(records(Array.from({ length: n }, () => numbered(next++))), n);
    const s = ring.stats();
    assert.ok(s.bytes <= ring.windowBytes);
  }
  assert.deepEqual(
    ids(ring),
    Array.from({ length: 100 }, (_, i) => next - 100 + i),
  );
});

test('rejects a bad window', () => {
  assert.throws(() => new RingBuffer(-1), RangeError);
  assert.throws(() => new RingBuffer(1.5), RangeError);
});
