// Proves the one record walk (recordEnd and the RecordCursor on it): each step lands on the next
// record boundary, every fault is found where it is and is sticky (a loop over damaged bytes
// ends), limits and byte orders are kept, timestamps convert in place.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  PCAP_RECORD_HEADER_BYTES,
  RECORD_END,
  RECORD_OK,
  RECORD_SHORT_DATA,
  RECORD_SHORT_HEADER,
  RecordCursor,
  encodeRecords,
  recordEnd,
  recordFaultError,
  recordToNanosecond,
  type RecordStep,
} from '../src/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Every step of a walk until (and including) the first non-OK one. */
function steps(c: RecordCursor): { step: RecordStep; offset: number; inclLen: number }[] {
  const out = [];
  for (let i = 0; i < 1000; i++) {
    const step = c.next();
    out.push({ step, offset: c.offset, inclLen: c.inclLen });
    if (step !== RECORD_OK) return out;
  }
  throw new Error('walk did not end');
}

test('golden walk: fields of each record, then the end', () => {
  const records = hex(
    '00f15365 40e20100 04000000 3c000000 deadbeef' + '01000000 3f420f00 01000000 01000000 45',
  );
  const c = new RecordCursor(records);
  assert.equal(c.next(), RECORD_OK);
  assert.deepEqual(
    [c.offset, c.end, c.dataStart, c.inclLen, c.tsSec, c.tsFrac, c.origLen, c.count],
    [0, 20, 16, 4, 1700000000, 123456, 60, 1],
  );
  assert.deepEqual(c.data(), hex('deadbeef'));
  assert.equal(c.next(), RECORD_OK);
  assert.deepEqual(
    [c.offset, c.end, c.inclLen, c.tsSec, c.tsFrac, c.origLen],
    [20, 37, 1, 1, 999999, 1],
  );
  assert.equal(c.next(), RECORD_END);
  assert.equal(c.next(), RECORD_END);
  assert.deepEqual([c.offset, c.end, c.count], [37, 37, 2]);
});

const malformed: {
  name: string;
  records: Buffer;
  step: RecordStep;
  offset: number;
  count: number;
  inclLen?: number;
}[] = [
  { name: 'empty', records: hex(''), step: RECORD_END, offset: 0, count: 0 },
  {
    name: 'partial record header',
    records: hex('01000000 02000000 0000'),
    step: RECORD_SHORT_HEADER,
    offset: 0,
    count: 0,
  },
  {
    name: 'incl_len one past the end',
    records: hex('01000000 02000000 03000000 03000000 aabb'),
    step: RECORD_SHORT_DATA,
    offset: 0,
    count: 0,
    inclLen: 3,
  },
  {
    name: 'incl_len 0xffffffff',
    records: hex('01000000 02000000 ffffffff ffffffff aabb'),
    step: RECORD_SHORT_DATA,
    offset: 0,
    count: 0,
    inclLen: 0xffffffff,
  },
  {
    name: 'second record header cut short',
    records: hex('01000000 02000000 01000000 01000000 aa' + '01000000 02'),
    step: RECORD_SHORT_HEADER,
    offset: 17,
    count: 1,
  },
  {
    name: 'zero-length records are whole records',
    records: hex('01000000 02000000 00000000 00000000' + '01000000 02000000 00000000 00000000'),
    step: RECORD_END,
    offset: 32,
    count: 2,
  },
];

for (const m of malformed) {
  test(`fault: ${m.name}`, () => {
    const c = new RecordCursor(m.records);
    const walk = steps(c);
    const last = walk[walk.length - 1]!;
    assert.equal(last.step, m.step);
    assert.equal(last.offset, m.offset);
    assert.equal(c.count, m.count);
    assert.equal(c.end, m.offset, 'end stays at the last whole record');
    if (m.inclLen !== undefined) assert.equal(last.inclLen, m.inclLen);
    // Sticky: the walk never moves past a fault.
    assert.equal(c.next(), m.step);
    assert.equal(c.offset, m.offset);
    if (m.step !== RECORD_END) {
      const err = c.error();
      assert.equal(err.code, 'ERR_PCAP_TRUNCATED');
      assert.equal(err.offset, m.offset);
      // recordEnd says the same of that record, and its error is the cursor's.
      assert.equal(recordEnd(m.records, m.offset), m.step);
      assert.deepEqual(recordFaultError(m.records, m.offset), err);
    }
  });
}

const packetsArb = fc.array(
  fc.record({
    tsSec: fc.nat({ max: 0xffffffff }),
    tsFrac: fc.nat({ max: 999_999 }),
    data: fc.uint8Array({ maxLength: 100 }),
  }),
  { maxLength: 20 },
);

test('property: a walk of any section cut anywhere stops at the last whole record before the cut', () => {
  fc.assert(
    fc.property(packetsArb, fc.nat(), fc.boolean(), (packets, cutSeed, byLimit) => {
      const records = encodeRecords(packets);
      const ends: number[] = [];
      let at = 0;
      for (const p of packets) ends.push((at += PCAP_RECORD_HEADER_BYTES + p.data.length));
      const cut = records.length === 0 ? 0 : cutSeed % (records.length + 1);
      // The same section either as a shorter buffer or as the whole buffer with a limit.
      const c = byLimit
        ? new RecordCursor(records, 0, cut)
        : new RecordCursor(records.subarray(0, cut));
      const walk = steps(c);
      const whole = ends.filter((e) => e <= cut);
      assert.deepEqual(
        walk.filter((s) => s.step === RECORD_OK).map((s) => s.offset + 16 + s.inclLen),
        whole,
      );
      const lastEnd = whole.length === 0 ? 0 : whole[whole.length - 1]!;
      assert.equal(c.count, whole.length);
      assert.equal(c.end, lastEnd);
      const last = walk[walk.length - 1]!.step;
      if (lastEnd === cut) assert.equal(last, RECORD_END);
      else if (cut - lastEnd < 16) assert.equal(last, RECORD_SHORT_HEADER);
      else assert.equal(last, RECORD_SHORT_DATA);
      // recordEnd, step by step, finds the same boundaries and the same fault.
      const found: number[] = [];
      let offset = 0;
      let end = 0;
      while (offset < cut && (end = recordEnd(records, offset, cut)) > 0)
        found.push((offset = end));
      assert.deepEqual(found, whole);
      if (lastEnd !== cut) assert.equal(end, last);
    }),
  );
});

test('property: a start offset and big-endian headers walk the same records', () => {
  fc.assert(
    fc.property(packetsArb, fc.nat({ max: 40 }), (packets, pad) => {
      const le = encodeRecords(packets);
      // The same records with big-endian headers, behind `pad` bytes of something else.
      const be = Buffer.concat([Buffer.alloc(pad, 0xee), le]);
      for (const c = new RecordCursor(le); c.next() === RECORD_OK;) {
        for (const field of [0, 4, 8, 12]) {
          be.writeUInt32BE(le.readUInt32LE(c.offset + field), pad + c.offset + field);
        }
      }
      const a = new RecordCursor(le);
      const b = new RecordCursor(be, pad, be.length, false);
      for (;;) {
        const step = a.next();
        assert.equal(b.next(), step);
        if (step !== RECORD_OK) break;
        assert.deepEqual(
          [b.offset - pad, b.inclLen, b.tsSec, b.tsFrac, b.origLen],
          [a.offset, a.inclLen, a.tsSec, a.tsFrac, a.origLen],
        );
        assert.deepEqual(b.data(), a.data());
      }
      assert.equal(b.count, packets.length);
    }),
  );
});

test('recordToNanosecond rewrites ts_usec × 1000 in place, and refuses what cannot be microseconds', () => {
  const records = encodeRecords([
    { tsSec: 1, tsFrac: 123456, data: hex('aa') },
    { tsSec: 2, tsFrac: 4294967, data: hex('') },
    { tsSec: 3, tsFrac: 4294968, data: hex('') },
  ]);
  const c = new RecordCursor(records);
  c.next();
  assert.equal(recordToNanosecond(records, c.offset), true);
  assert.equal(c.tsFrac, 123456000);
  c.next();
  assert.equal(recordToNanosecond(records, c.offset), true);
  assert.equal(c.tsFrac, 4294967000);
  c.next();
  assert.equal(recordToNanosecond(records, c.offset), false);
  assert.equal(c.tsFrac, 4294968, 'left as it was');
  assert.deepEqual(records.subarray(0, 17), hex('01000000 00ca5b07 01000000 01000000 aa'));
});
