// Proves the shard router on walker output: in flow mode every packet goes to exactly the shard the rendezvous table names for its flow hash, both directions together, each shard's part in read order with an index that points into it; taking a shard out moves only its flows; duplicate mode and a single shard hand every sink the read itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NFLOG_INDEX_ENTRY_BYTES,
  indexFlowHash,
  indexOffset,
  indexSeqGlobal,
  parseNflogMessages,
  shardBucket,
} from '@nflog-pipe/nflog-native';
import { NF_INET, ipv4, nflogDatagram, ports } from '@nflog-pipe/testing';
import { ShardRouter, rendezvousTable, type ShardSink } from '../src/index.js';

const ENDPOINTS = ['tcp://127.0.0.1:7001', 'tcp://127.0.0.1:7002', 'tcp://127.0.0.1:7003'];

/** One read: `flows` TCP flows, each a packet there and one back; NFULA_SEQ_GLOBAL numbers them in order. */
function read(flows: number): { records: Buffer; count: number; index: Buffer } {
  const specs = [];
  for (let i = 0; i < flows; i++) {
    for (const back of [false, true]) {
      const [src, dst] = back ? ['10.0.0.2', '10.0.0.1'] : ['10.0.0.1', '10.0.0.2'];
      const l4 = back ? ports(80, 30000 + i, 16) : ports(30000 + i, 80, 16);
      specs.push({
        hook: NF_INET.LOCAL_IN,
        indev: 1,
        seqGlobal: specs.length,
        payload: ipv4(src, dst, 6, l4),
      });
    }
  }
  const r = parseNflogMessages(nflogDatagram(specs), 101);
  return { records: r.records, count: r.count, index: r.index };
}

/** A sink that keeps, per read, the (seqGlobal, flow hash) of each record it got, checking its index. */
class Collect implements ShardSink {
  got: Array<{ seq: number; hash: number }> = [];
  reads: Buffer[] = [];
  pushRecords(records: Buffer, count: number, index: Buffer): void {
    assert.equal(index.length, count * NFLOG_INDEX_ENTRY_BYTES);
    this.reads.push(records);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      assert.equal(indexOffset(index, i), offset, 'the index points into this part');
      offset += 16 + records.readUInt32LE(offset + 8);
      this.got.push({ seq: indexSeqGlobal(index, i), hash: indexFlowHash(index, i) });
    }
    assert.equal(offset, records.length);
  }
}

test('flow mode: every packet to the shard its flow maps to, both directions together, in order', () => {
  const sinks = ENDPOINTS.map(() => new Collect());
  const router = new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS, sinks });
  const r = read(300);
  router.push(r.records, r.count, r.index);
  const table = rendezvousTable(ENDPOINTS, [true, true, true]);
  const seen = new Set<number>();
  sinks.forEach((sink, s) => {
    // In read (kernel) order, and each packet where the table puts its flow.
    for (let k = 1; k < sink.got.length; k++) assert.ok(sink.got[k]!.seq > sink.got[k - 1]!.seq);
    for (const { seq, hash } of sink.got) {
      assert.equal(table[shardBucket(hash)], s);
      assert.ok(!seen.has(seq), `packet ${seq} once`);
      seen.add(seq);
      // Its other direction (the neighbour in the read) is here too.
      assert.ok(
        sink.got.some((x) => x.seq === (seq ^ 1)),
        `both directions of ${seq >> 1}`,
      );
    }
    // 300 flows over 3: none starved (the flows differ only in the client port).
    assert.ok(sink.got.length > 2 * 60, `shard ${s}: ${sink.got.length} packets`);
  });
  assert.equal(seen.size, r.count);
});

test('a shard taken out: only its flows move, and they come back with it', () => {
  const sinks = ENDPOINTS.map(() => new Collect());
  const router = new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS, sinks });
  const r = read(200);
  router.push(r.records, r.count, r.index);
  const before = sinks.map((s) => new Set(s.got.map((x) => x.seq)));
  router.setLive([true, false, true]);
  assert.deepEqual(router.live, [true, false, true]);
  const during = sinks.map(() => new Collect());
  const router2 = new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS, sinks: during });
  router2.setLive([true, false, true]);
  router2.push(r.records, r.count, r.index);
  assert.equal(during[1]!.got.length, 0);
  for (const s of [0, 2])
    for (const seq of before[s]!) assert.ok(during[s]!.got.some((x) => x.seq === seq));
  assert.ok(before[1]!.size > 0);
  // Its flows spread over both others.
  for (const s of [0, 2]) assert.ok(during[s]!.got.length > before[s]!.size);
  router2.setLive([true, true, true]);
  const after = sinks.map(() => new Collect());
  const router3 = new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS, sinks: after });
  router3.push(r.records, r.count, r.index);
  assert.deepEqual(
    after.map((s) => s.got.map((x) => x.seq)),
    sinks.map((s) => s.got.map((x) => x.seq)),
  );
});

test('duplicate mode and a single shard give each sink the read itself, not a copy', () => {
  const r = read(5);
  const dup = ENDPOINTS.map(() => new Collect());
  new ShardRouter({ mode: 'duplicate', endpoints: ENDPOINTS, sinks: dup }).push(
    r.records,
    r.count,
    r.index,
  );
  for (const s of dup) {
    assert.equal(s.reads[0], r.records);
    assert.equal(s.got.length, r.count);
  }
  const one = new Collect();
  new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS.slice(0, 1), sinks: [one] }).push(
    r.records,
    r.count,
    r.index,
  );
  assert.equal(one.reads[0], r.records);
  assert.throws(
    () => new ShardRouter({ mode: 'flow', endpoints: ENDPOINTS, sinks: [one] }),
    RangeError,
  );
});
