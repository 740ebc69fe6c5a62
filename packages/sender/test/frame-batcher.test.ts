// FrameBatcher: batches bounded by bytes and packets, cut on time, contiguous sequence numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameBatcher } from '../src/index.js';
import { withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/testing';
import { records } from './records-helper.js';

interface Batch {
  records: Buffer;
  count: number;
  firstSeq: bigint;
}

function collect(opts: { maxBytes: number; maxPackets: number; flushIntervalMs: number }): {
  b: FrameBatcher;
  out: Batch[];
} {
  const out: Batch[] = [];
  const b = new FrameBatcher({
    ...opts,
    onBatchPieces: (pieces, bytes, count, firstSeq) => {
      assert.equal(
        pieces.reduce((n, p) => n + p.length, 0),
        bytes,
      );
      // One piece is handed on as the read itself (no copy), which a test checks by reference.
      out.push({
        records: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces),
        count,
        firstSeq,
      });
    },
  });
  return { b, out };
}

test('small reads accumulate until the packet limit, then are cut as one batch', (t) => {
  const { b, out } = collect({ maxBytes: 1 << 20, maxPackets: 4, flushIntervalMs: 60_000 });
  t.after(() => b.close());
  const r1 = records([10, 11]);
  const r2 = records([12]);
  const r3 = records([13, 14, 15]);
  b.push(r1, 2);
  b.push(r2, 1);
  assert.equal(out.length, 0);
  assert.equal(b.pendingPackets, 3);
  // r3 does not fit (3 + 3 > 4): the pending batch is cut first, then r3 waits.
  b.push(r3, 3);
  assert.deepEqual(out, [{ records: Buffer.concat([r1, r2]), count: 3, firstSeq: 0n }]);
  b.flush();
  assert.deepEqual(out[1], { records: r3, count: 3, firstSeq: 3n });
  assert.equal(b.nextSeq, 6n);
});

test('a read that fits exactly is cut at once and passed on without a copy', () => {
  const { b, out } = collect({ maxBytes: 1 << 20, maxPackets: 2, flushIntervalMs: 60_000 });
  const r = records([5, 5]);
  b.push(r, 2);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.records, r);
  b.close();
});

test('a read larger than a frame is split at record boundaries, numbers stay contiguous', () => {
  const { b, out } = collect({ maxBytes: 100, maxPackets: 1000, flushIntervalMs: 0 });
  const r = records([40, 40, 40, 40, 200, 1]);
  b.push(r, 6);
  assert.deepEqual(
    out.map((x) => [x.count, x.records.length, x.firstSeq]),
    [
      [1, 56, 0n],
      [1, 56, 1n],
      [1, 56, 2n],
      [1, 56, 3n],
      [1, 216, 4n],
      [1, 17, 5n],
    ],
  );
  assert.deepEqual(Buffer.concat(out.map((x) => x.records)), r);
});

test('flushIntervalMs 0 cuts after every read', () => {
  const { b, out } = collect({ maxBytes: 1 << 20, maxPackets: 1000, flushIntervalMs: 0 });
  b.push(records([1]), 1);
  b.push(records([2, 3]), 2);
  assert.deepEqual(
    out.map((x) => [x.count, x.firstSeq]),
    [
      [1, 0n],
      [2, 1n],
    ],
  );
});

test('a partial batch is cut by the flush timer', async () => {
  let resolve!: (x: Batch) => void;
  const got = new Promise<Batch>((r) => (resolve = r));
  const b = new FrameBatcher({
    maxBytes: 1 << 20,
    maxPackets: 1000,
    flushIntervalMs: 5,
    onBatchPieces: (pieces, _bytes, count, firstSeq) =>
      resolve({ records: Buffer.concat(pieces), count, firstSeq }),
  });
  const r = records([7, 8]);
  b.push(r, 2);
  // The batcher's timer is unref'd on purpose (and so is withTimeout's): keep the loop alive.
  const keepAlive = setInterval(() => {}, 1000);
  const batch = await withTimeout(got, TEST_TIMEOUT_MS, 'the flush timer').finally(() =>
    clearInterval(keepAlive),
  );
  assert.deepEqual(batch, { records: r, count: 2, firstSeq: 0n });
  b.close();
});

test('close() flushes what is pending; later pushes are ignored; twice is safe', () => {
  const { b, out } = collect({ maxBytes: 1 << 20, maxPackets: 1000, flushIntervalMs: 60_000 });
  b.push(records([1, 2]), 2);
  b.close();
  b.close();
  b.push(records([3]), 1);
  assert.deepEqual(
    out.map((x) => x.count),
    [2],
  );
});

test('bad limits are a RangeError', () => {
  for (const bad of [
    { maxBytes: 0, maxPackets: 1, flushIntervalMs: 0 },
    { maxBytes: 1, maxPackets: 1.5, flushIntervalMs: 0 },
    { maxBytes: 1, maxPackets: 1, flushIntervalMs: -1 },
  ]) {
    assert.throws(() => new FrameBatcher({ ...bad, onBatchPieces: () => {} }), RangeError);
  }
});

test('property: batches carry every record once, in order, with contiguous numbers', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 12 }), { maxLength: 12 }),
      fc.integer({ min: 16, max: 800 }),
      fc.integer({ min: 1, max: 8 }),
      (reads, maxBytes, maxPackets) => {
        const { b, out } = collect({ maxBytes, maxPackets, flushIntervalMs: 60_000 });
        const all: Buffer[] = [];
        let total = 0;
        for (const sizes of reads) {
          const r = records(sizes);
          all.push(r);
          total += sizes.length;
          b.push(r, sizes.length);
        }
        b.close();
        assert.deepEqual(Buffer.concat(out.map((x) => x.records)), Buffer.concat(all));
        let seq = 0n;
        for (const x of out) {
          assert.equal(x.firstSeq, seq);
          assert.ok(x.count >= 1 && x.count <= maxPackets);
          assert.ok(x.records.length <= maxBytes || x.count === 1);
          seq += BigInt(x.count);
        }
        assert.equal(seq, BigInt(total));
        assert.equal(b.nextSeq, BigInt(total));
      },
    ),
  );
});
