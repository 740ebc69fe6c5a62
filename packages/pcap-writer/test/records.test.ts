// Proves record encoding is byte-exact, round-trips for any packets, and bounds-checks every length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  PCAP_RECORD_HEADER_BYTES,
  PcapFormatError,
  countRecords,
  encodePcapHeader,
  encodeRecords,
  iterateRecords,
  readPcap,
  recordsToNanosecond,
  writeRecordHeader,
  type PcapPacket,
} from '../src/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('writeRecordHeader golden bytes', () => {
  const buf = Buffer.alloc(20, 0xee);
  const next = writeRecordHeader(buf, 2, 1700000000, 123456, 4, 60);
  assert.equal(next, 18);
  // ts_sec 0x6553f100, ts_usec 0x0001e240, incl_len 4, orig_len 60, all LE; bytes around untouched
  assert.deepEqual(buf, hex('eeee 00f15365 40e20100 04000000 3c000000 eeee'));
});

test('encodeRecords golden bytes for two packets', () => {
  const records = encodeRecords([
    { tsSec: 1700000000, tsFrac: 123456, data: hex('deadbeef'), origLen: 60 },
    { tsSec: 1, tsFrac: 999999, data: hex('45') },
  ]);
  assert.deepEqual(
    records,
    hex('00f15365 40e20100 04000000 3c000000 deadbeef' + '01000000 3f420f00 01000000 01000000 45'),
  );
  assert.equal(countRecords(records), 2);
});

test('encodeRecords of no packets is empty', () => {
  assert.equal(encodeRecords([]).length, 0);
  assert.deepEqual([...iterateRecords(Buffer.alloc(0))], []);
});

test('iterateRecords yields views into the input, not copies', () => {
  const records = encodeRecords([{ tsSec: 5, tsFrac: 6, data: hex('0102') }]);
  const [rec] = [...iterateRecords(records)];
  assert.ok(rec);
  records[PCAP_RECORD_HEADER_BYTES] = 0xff;
  assert.equal(rec.data[0], 0xff);
});

test('recordsToNanosecond golden bytes and leaves its input alone', () => {
  const usec = encodeRecords([{ tsSec: 1700000000, tsFrac: 123456, data: hex('aa') }]);
  const copy = Buffer.from(usec);
  const nsec = recordsToNanosecond(usec);
  // 123456000 ns = 0x075bca00
  assert.deepEqual(nsec, hex('00f15365 00ca5b07 01000000 01000000 aa'));
  assert.deepEqual(usec, copy);
});

const packetArb: fc.Arbitrary<PcapPacket> = fc
  .record({
    tsSec: fc.nat({ max: 0xffffffff }),
    tsFrac: fc.nat({ max: 999_999_999 }),
    data: fc.uint8Array({ maxLength: 300 }),
    extra: fc.option(fc.nat({ max: 70000 }), { nil: undefined }),
  })
  .map(({ tsSec, tsFrac, data, extra }) => ({
    tsSec,
    tsFrac,
    data,
    ...(extra === undefined ? {} : { origLen: data.length + extra }),
  }));

function assertSame(
  packets: readonly PcapPacket[],
  records: ReturnType<typeof readPcap>['records'],
): void {
  assert.equal(records.length, packets.length);
  packets.forEach((p, i) => {
    const r = records[i];
    assert.ok(r);
    assert.equal(r.tsSec, p.tsSec);
    assert.equal(r.tsFrac, p.tsFrac);
    assert.equal(r.inclLen, p.data.length);
    assert.equal(r.origLen, p.origLen ?? p.data.length);
    assert.deepEqual(new Uint8Array(r.data), p.data);
  });
}

test('property: encodeRecords -> iterateRecords / readPcap gives back the same packets', () => {
  fc.assert(
    fc.property(
      fc.array(packetArb, { maxLength: 30 }),
      fc.boolean(),
      fc.constantFrom(101, 239),
      (packets, nanosecond, linktype) => {
        const records = encodeRecords(packets);
        const expectedBytes = packets.reduce(
          (n, p) => n + PCAP_RECORD_HEADER_BYTES + p.data.length,
          0,
        );
        assert.equal(records.length, expectedBytes);
        assert.equal(countRecords(records), packets.length);
        assertSame(packets, [...iterateRecords(records)]);
        const file = readPcap(Buffer.concat([encodePcapHeader({ linktype, nanosecond }), records]));
        assert.deepEqual(file.header, {
          nanosecond,
          linktype,
          snaplen: 262144,
          littleEndian: true,
        });
        assertSame(packets, file.records);
      },
    ),
  );
});

test('property: recordsToNanosecond multiplies every ts_usec by 1000 and nothing else', () => {
  const usecPacket = packetArb.map((p) => ({ ...p, tsFrac: p.tsFrac % 1_000_000 }));
  fc.assert(
    fc.property(fc.array(usecPacket, { maxLength: 20 }), (packets) => {
      const nsec = recordsToNanosecond(encodeRecords(packets));
      assertSame(
        packets.map((p) => ({ ...p, tsFrac: p.tsFrac * 1000 })),
        [...iterateRecords(nsec)],
      );
    }),
  );
});

test('property: a records section cut anywhere but a record boundary is ERR_PCAP_TRUNCATED', () => {
  fc.assert(
    fc.property(
      fc.array(packetArb, { minLength: 1, maxLength: 10 }),
      fc.nat(),
      (packets, cutSeed) => {
        const records = encodeRecords(packets);
        const boundaries = new Set<number>([0]);
        let at = 0;
        for (const p of packets) boundaries.add((at += PCAP_RECORD_HEADER_BYTES + p.data.length));
        const cut = cutSeed % records.length;
        const short = records.subarray(0, cut);
        if (boundaries.has(cut)) {
          assert.ok(countRecords(short) < packets.length);
          return;
        }
        assert.throws(() => countRecords(short), { code: 'ERR_PCAP_TRUNCATED' });
        assert.throws(() => [...iterateRecords(short)], { code: 'ERR_PCAP_TRUNCATED' });
        assert.throws(() => recordsToNanosecond(short), { code: 'ERR_PCAP_TRUNCATED' });
      },
    ),
  );
});

const malformed: { name: string; records: Buffer; offset: number; yieldedBefore: number }[] = [
  {
    name: 'partial record header',
    records: hex('01000000 02000000 0000'),
    offset: 0,
    yieldedBefore: 0,
  },
  {
    name: 'incl_len one past the end',
    records: hex('01000000 02000000 03000000 03000000 aabb'),
    offset: 0,
    yieldedBefore: 0,
  },
  {
    name: 'incl_len 0xffffffff',
    records: hex('01000000 02000000 ffffffff ffffffff aabb'),
    offset: 0,
    yieldedBefore: 0,
  },
  {
    name: 'second record header cut short',
    records: hex('01000000 02000000 01000000 01000000 aa' + '01000000 02'),
    offset: 17,
    yieldedBefore: 1,
  },
];

for (const m of malformed) {
  test(`iterateRecords malformed: ${m.name}`, () => {
    const seen: number[] = [];
    assert.throws(
      () => {
        for (const r of iterateRecords(m.records)) seen.push(r.inclLen);
      },
      (err: unknown) => {
        assert.ok(err instanceof PcapFormatError);
        assert.equal(err.code, 'ERR_PCAP_TRUNCATED');
        assert.equal(err.offset, m.offset);
        return true;
      },
    );
    assert.equal(seen.length, m.yieldedBefore);
  });
}

test('recordsToNanosecond refuses a ts_usec that cannot be microseconds', () => {
  assert.throws(
    () => recordsToNanosecond(encodeRecords([{ tsSec: 0, tsFrac: 0xffffffff, data: hex('') }])),
    (err: unknown) =>
      err instanceof RangeError && /ts_usec 4294967295 at offset 0/.test(err.message),
  );
});
