// Proves the 239↔101 conversion byte for byte (golden records, orig_len of cut packets, records without a payload), a 101→239→101 round trip as a property, and the fan-out giving each output its own linktype from one conversion per batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRecords, iterateRecords } from '@nflog-pipe/pcap-writer';
import {
  OutputFanout,
  convertRecords,
  emptySinkStats,
  type PcapSink,
  type PcapSinkStats,
} from '@nflog-pipe/receiver';
import { nflogPacket, nflogTlv } from '@nflog-pipe/testing';
import { ipv4, ipv6, numbered, ports } from './helpers.js';

const TS = 1_700_000_000;

test('239 → 101: each record becomes its NFULA_PAYLOAD, timestamps kept, orig_len the packet’s real length; a record without payload is dropped and counted', () => {
  const a = numbered(1, 40);
  const b = ipv6(Buffer.alloc(16, 1), Buffer.alloc(16, 2), 17, ports(5353, 53));
  const aRec = nflogPacket(a, 7, 'svc=dns');
  const bRec = nflogPacket(b, 8, '');
  // Cut by the copy range: 10 bytes of the packet were not copied, so orig_len says 10 more.
  const cut = a.subarray(0, a.length - 10);
  const cutRec = nflogPacket(cut, 7, 'cut');
  const noPayload = Buffer.concat([Buffer.from([2, 0, 0, 7]), nflogTlv(10, Buffer.from('x\0'))]);
  const recs = encodeRecords([
    { tsSec: TS, tsFrac: 1, data: aRec },
    { tsSec: TS, tsFrac: 2, data: noPayload },
    { tsSec: TS + 1, tsFrac: 3, data: bRec },
    { tsSec: TS + 2, tsFrac: 4, data: cutRec, origLen: cutRec.length + 10 },
  ]);
  const out = convertRecords(recs, 4, 239, 101);
  assert.equal(out.count, 3);
  assert.equal(out.dropped, 1);
  const got = [...iterateRecords(out.records)];
  assert.deepEqual(
    got.map((r) => [r.tsSec, r.tsFrac, r.data.toString('hex'), r.origLen]),
    [
      [TS, 1, a.toString('hex'), a.length],
      [TS + 1, 3, b.toString('hex'), b.length],
      [TS + 2, 4, cut.toString('hex'), a.length],
    ],
  );
});

test('101 → 239: a synthesized NFLOG record per packet (family from the IP version, one payload TLV, padded), golden bytes', () => {
  const p4 = ipv4('10.0.0.1', '10.0.0.2', 17, ports(1, 2)); // 32 bytes: TLV 36, no padding
  const p6 = ipv6(Buffer.alloc(16, 1), Buffer.alloc(16, 2), 17, Buffer.from([1, 2, 3])); // 43 bytes
  const recs = encodeRecords([
    { tsSec: TS, tsFrac: 9, data: p4 },
    { tsSec: TS, tsFrac: 10, data: p6, origLen: p6.length + 100 },
  ]);
  const out = convertRecords(recs, 2, 101, 239);
  assert.equal(out.count, 2);
  const got = [...iterateRecords(out.records)];
  assert.equal(p4.length, 32);
  assert.equal(got[0]!.data.toString('hex'), `02000000${'2400'}${'0900'}${p4.toString('hex')}`);
  assert.equal(got[0]!.origLen, 4 + 36);
  // 4 + 43 = 47 bytes of TLV, padded with one zero byte to 48.
  assert.equal(p6.length, 43);
  assert.equal(got[1]!.data.toString('hex'), `0a000000${'2f00'}${'0900'}${p6.toString('hex')}00`);
  assert.equal(got[1]!.data.length, 4 + 48);
  assert.equal(got[1]!.origLen, 4 + 48 + 100);
  assert.deepEqual(
    got.map((r) => [r.tsSec, r.tsFrac]),
    [
      [TS, 9],
      [TS, 10],
    ],
  );
  // Same linktype: the very buffer, untouched.
  assert.equal(convertRecords(recs, 2, 101, 101).records, recs);
  assert.throws(() => convertRecords(recs, 2, 101, 1), RangeError);
});

test('property: 101 → 239 → 101 gives back every record byte for byte', () => {
  const packet = fc
    .tuple(fc.constantFrom(4, 6), fc.uint8Array({ minLength: 0, maxLength: 300 }))
    .map(([v, body]) =>
      v === 4
        ? ipv4('10.1.2.3', '10.4.5.6', 17, Buffer.from(body))
        : ipv6(Buffer.alloc(16, 3), Buffer.alloc(16, 4), 17, Buffer.from(body)),
    );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(packet, fc.nat({ max: 5000 })), { minLength: 1, maxLength: 20 }),
      (pkts) => {
        const recs = encodeRecords(
          pkts.map(([data, extra], i) => ({
            tsSec: TS + i,
            tsFrac: i,
            data,
            origLen: data.length + extra,
          })),
        );
        const nflog = convertRecords(recs, pkts.length, 101, 239);
        const back = convertRecords(nflog.records, nflog.count, 239, 101);
        assert.equal(back.count, pkts.length);
        assert.deepEqual(back.records, recs);
      },
    ),
  );
});

/** A sink that keeps what it is given. */
class KeepSink implements PcapSink {
  batches: Buffer[] = [];
  push(records: Buffer, count: number): boolean {
    void count;
    this.batches.push(records);
    return true;
  }
  reopen(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): PcapSinkStats {
    return emptySinkStats();
  }
}

test('fan-out: outputs of the batch’s linktype get the buffer itself, the others one shared conversion; unconvertible records count for the outputs that needed them', () => {
  const fan = new OutputFanout();
  const raw1 = new KeepSink();
  const raw2 = new KeepSink();
  const nflog = new KeepSink();
  let unconvertible = 0;
  fan.add({
    name: 'fifo',
    linktype: 101,
    sink: raw1,
    onUnconvertible: (n) => (unconvertible += n),
  });
  fan.add({ name: 'pcap_over_ip', linktype: 101, sink: raw2 });
  fan.add({ name: 'rotate', linktype: 239, sink: nflog });
  const pkt = numbered(3);
  const rec239 = encodeRecords([
    { tsSec: TS, tsFrac: 0, data: nflogPacket(pkt, 1, 'p') },
    { tsSec: TS, tsFrac: 1, data: Buffer.from([2, 0, 0, 1]) },
  ]);
  fan.push(rec239, 2, 239);
  assert.equal(nflog.batches[0], rec239);
  assert.equal(raw1.batches[0], raw2.batches[0], 'one conversion for both raw outputs');
  assert.deepEqual(
    [...iterateRecords(raw1.batches[0]!)].map((r) => r.data),
    [pkt],
  );
  assert.equal(unconvertible, 1);
  const [fifo, poip, rotate] = fan.stats();
  assert.deepEqual(
    [fifo!.stats.lostPackets, poip!.stats.lostPackets, rotate!.stats.lostPackets],
    [1, 1, 0],
  );
  const rec101 = encodeRecords([{ tsSec: TS, tsFrac: 2, data: pkt }]);
  fan.push(rec101, 1, 101);
  assert.equal(raw1.batches[1], rec101);
  assert.deepEqual(
    [...iterateRecords(convertRecords(nflog.batches[1]!, 1, 239, 101).records)].map((r) => r.data),
    [pkt],
  );
});
