// Proves groupByShard (native/nl_shard.c): each record goes to the shard the table names for its flow hash, every shard keeps the read's order, its index entries point into its own records, the per-shard counts add up, and a table or index that does not fit is refused with a code, never read past.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NF_INET, ipv4, nflogDatagram, ports } from '@nflog-pipe/testing';
import {
  NFLOG_INDEX,
  NFLOG_INDEX_ENTRY_BYTES,
  NFLOG_SHARD_BUCKETS,
  NflogError,
  groupByShard,
  indexFlowHash,
  indexOffset,
  parseNflogMessages,
  shardBucket,
} from '../src/index.js';

/** One read of `n` UDP packets of `n` different flows (source ports 1000 + i), `size` payload bytes each plus i. */
function read(n: number, size = 10): { records: Buffer; index: Buffer; count: number } {
  const specs = Array.from({ length: n }, (_, i) => ({
    hook: NF_INET.LOCAL_IN,
    indev: 1,
    seqGlobal: 100 + i,
    payload: ipv4('10.0.0.1', '10.0.0.2', 17, ports(1000 + i, 53, 4 + size + i)),
  }));
  const r = parseNflogMessages(nflogDatagram(specs), 101);
  return { records: r.records, index: r.index, count: r.count };
}

/** Record `i` of a read, as bytes (its pcap header included). */
function recordAt(records: Buffer, index: Buffer, i: number): Buffer {
  const off = indexOffset(index, i);
  return records.subarray(off, off + 16 + records.readUInt32LE(off + 8));
}

/** Splits groupByShard's output into each shard's (records, index) views, as the sender does. */
function views(
  out: Buffer,
  perShard: Uint32Array,
  shards: number,
): { records: Buffer; index: Buffer; count: number }[] {
  let bytes = 0;
  for (let s = 0; s < shards; s++) bytes += perShard[2 * s + 1]!;
  const result = [];
  let r = 0;
  let e = bytes;
  for (let s = 0; s < shards; s++) {
    const count = perShard[2 * s]!;
    const size = perShard[2 * s + 1]!;
    result.push({
      records: out.subarray(r, r + size),
      index: out.subarray(e, e + count * NFLOG_INDEX_ENTRY_BYTES),
      count,
    });
    r += size;
    e += count * NFLOG_INDEX_ENTRY_BYTES;
  }
  return result;
}

function check(shards: number, table: Uint8Array, n: number): void {
  const r = read(n);
  const perShard = new Uint32Array(2 * shards).fill(7); // overwritten, not added to
  const out = groupByShard(r.records, r.index, table, shards, perShard);
  const parts = views(out, perShard, shards);
  assert.equal(out.length, r.records.length + r.count * NFLOG_INDEX_ENTRY_BYTES);
  for (let s = 0; s < shards; s++) {
    // The read's records of this shard, in read order, entry by entry.
    const want: number[] = [];
    for (let i = 0; i < r.count; i++)
      if (table[shardBucket(indexFlowHash(r.index, i))] === s) want.push(i);
    const p = parts[s]!;
    assert.equal(p.count, want.length, `shard ${s} count`);
    assert.deepEqual(
      want.map((i) => recordAt(r.records, r.index, i)),
      Array.from({ length: p.count }, (_, k) => recordAt(p.records, p.index, k)),
      `shard ${s} records, in order`,
    );
    let offset = 0;
    want.forEach((i, k) => {
      const e = p.index.subarray(k * NFLOG_INDEX_ENTRY_BYTES, (k + 1) * NFLOG_INDEX_ENTRY_BYTES);
      const orig = r.index.subarray(i * NFLOG_INDEX_ENTRY_BYTES, (i + 1) * NFLOG_INDEX_ENTRY_BYTES);
      // Rebased onto the shard's own records; every other field as the walker wrote it.
      assert.equal(e.readUInt32LE(NFLOG_INDEX.OFFSET), offset);
      assert.deepEqual(e.subarray(4), orig.subarray(4));
      offset += recordAt(r.records, r.index, i).length;
    });
    assert.equal(offset, p.records.length);
  }
}

test('every record to its shard, in order, with its index entry rebased', () => {
  // Two shards by the top bit of the hash, three by bucket mod 3, one that takes all.
  const byTopBit = new Uint8Array(NFLOG_SHARD_BUCKETS).map((_, b) => b >>> 15);
  check(2, byTopBit, 64);
  check(
    3,
    new Uint8Array(NFLOG_SHARD_BUCKETS).map((_, b) => b % 3),
    100,
  );
  check(1, new Uint8Array(NFLOG_SHARD_BUCKETS), 5);
  // A shard that gets nothing has an empty part.
  check(4, new Uint8Array(NFLOG_SHARD_BUCKETS).fill(2), 9);
  // An empty read.
  check(2, byTopBit, 0);
});

test('property: any table, any read size', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer(),
      (shards, n, seed) => {
        const table = new Uint8Array(NFLOG_SHARD_BUCKETS).map(
          (_, b) => (Math.imul(b ^ seed, 0x9e3779b1) >>> 0) % shards,
        );
        check(shards, table, n);
      },
    ),
    { numRuns: 200 },
  );
});

test('a table, shard count or index that does not fit is refused with a code', () => {
  const r = read(4);
  const table = new Uint8Array(NFLOG_SHARD_BUCKETS);
  const per = new Uint32Array(4);
  const code =
    (c: string) =>
    (e: unknown): boolean =>
      e instanceof NflogError && e.code === c;
  const invalid = code('ERR_NFLOG_INVALID_OPTION');
  assert.throws(() => groupByShard(r.records, r.index, new Uint8Array(10), 2, per), invalid);
  assert.throws(() => groupByShard(r.records, r.index, table, 0, per), invalid);
  assert.throws(() => groupByShard(r.records, r.index, table, 256, new Uint32Array(512)), invalid);
  assert.throws(() => groupByShard(r.records, r.index, table, 3, per), invalid);
  assert.throws(() => groupByShard(r.records, r.index.subarray(1), table, 2, per), invalid);
  // The table names shard 5 of 2.
  assert.throws(
    () => groupByShard(r.records, r.index, new Uint8Array(NFLOG_SHARD_BUCKETS).fill(5), 2, per),
    code('ERR_NFLOG_BAD_INDEX'),
  );
  // An entry pointing past the records, or at a record that runs past them.
  const lying = Buffer.from(r.index);
  lying.writeUInt32LE(r.records.length - 4, NFLOG_INDEX_ENTRY_BYTES + NFLOG_INDEX.OFFSET);
  assert.throws(() => groupByShard(r.records, lying, table, 2, per), code('ERR_NFLOG_BAD_INDEX'));
  assert.throws(
    () => groupByShard(r.records.subarray(0, r.records.length - 1), r.index, table, 2, per),
    code('ERR_NFLOG_BAD_INDEX'),
  );
});
