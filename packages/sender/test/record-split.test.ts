// splitRecords cuts only at record boundaries, honours both limits and rejects lying lengths.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitRecords } from '../src/index.js';
import { records } from './records-helper.js';

test('a section within the limits is one piece, the same bytes', () => {
  const r = records([10, 20, 30]);
  const pieces = splitRecords(r, r.length, 3);
  assert.equal(pieces.length, 1);
  assert.equal(pieces[0]!.count, 3);
  assert.deepEqual(pieces[0]!.records, r);
});

test('cuts by bytes at record boundaries', () => {
  // records of 16+10, 16+20, 16+30, 16+5 bytes = 26, 36, 46, 21
  const r = records([10, 20, 30, 5]);
  const pieces = splitRecords(r, 62, 100);
  assert.deepEqual(
    pieces.map((p) => [p.count, p.records.length]),
    [
      [2, 62],
      [1, 46],
      [1, 21],
    ],
  );
  assert.deepEqual(Buffer.concat(pieces.map((p) => p.records)), r);
});

test('cuts by packet count', () => {
  const r = records([1, 1, 1, 1, 1]);
  assert.deepEqual(
    splitRecords(r, 1 << 20, 2).map((p) => p.count),
    [2, 2, 1],
  );
});

test('a record larger than maxBytes travels alone, uncut', () => {
  const r = records([4, 100, 4]);
  const pieces = splitRecords(r, 40, 10);
  assert.deepEqual(
    pieces.map((p) => [p.count, p.records.length]),
    [
      [1, 20],
      [1, 116],
      [1, 20],
    ],
  );
});

test('an empty section gives no pieces', () => {
  assert.deepEqual(splitRecords(Buffer.alloc(0), 100, 10), []);
});

test('a truncated header or a record running past the end is ERR_SENDER_BAD_RECORDS', () => {
  const r = records([10, 10]);
  for (const bad of [r.subarray(0, r.length - 1), Buffer.concat([r, Buffer.alloc(15)])]) {
    assert.throws(() => splitRecords(bad, 30, 10), { code: 'ERR_SENDER_BAD_RECORDS' });
  }
});

test('property: pieces concatenate to the input, counts add up, limits hold', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 10 }),
      (sizes, maxBytes, maxPackets) => {
        const r = records(sizes);
        const pieces = splitRecords(r, maxBytes, maxPackets);
        assert.deepEqual(Buffer.concat(pieces.map((p) => p.records)), r);
        assert.equal(
          pieces.reduce((n, p) => n + p.count, 0),
          sizes.length,
        );
        for (const p of pieces) {
          assert.ok(p.count >= 1 && p.count <= maxPackets);
          assert.ok(p.records.length <= maxBytes || p.count === 1);
        }
      },
    ),
  );
});
