// Proves the legacy XDR codec reads and writes the Python tool's exact bytes (hand-made and xdrlib-made), documents the 0x00/0x01 rate-control layout, and rejects malformed messages with stable codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { recordsToNanosecond } from '@nflog-pipe/pcap-writer';
import {
  LEGACY_HEADER_BYTES,
  WIRE_MAX_RECORD_BYTES,
  decodeLegacyPacket,
  encodeLegacyPacket,
  legacyPacketsToRecords,
  recordsToLegacyPackets,
} from '../src/index.js';
import { expectWireError, fixture, fuzzDecode, loadHex, mutatedMessages } from './helpers.js';

const hand = loadHex('legacy-handmade.hex');
const python = loadHex('legacy-python.hex');

// The three packets as plain values (what the hand-made bytes say).
const P1 = {
  tsSec: 1700000000,
  tsUsec: 123456,
  origLen: 5,
  data: Buffer.from('deadbeef01', 'hex'),
};
const P2 = {
  tsSec: 1700000001,
  tsUsec: 999999,
  origLen: 0,
  data: Buffer.from('4500000800000000', 'hex'),
};
const P3 = { tsSec: 1700000002, tsUsec: 1, origLen: 0, data: Buffer.alloc(0) };

/** Splits a decompressed rate-control batch: repeated (u32 BE length, frame). */
function splitLengthPrefixed(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const len = body.readUInt32BE(pos);
    out.push(body.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  assert.equal(pos, body.length, 'batch ends exactly after the last frame');
  return out;
}

void test('hand-made messages and the ones xdrlib made are the same bytes', () => {
  for (const name of ['p1', 'p2', 'p3', 'shaped-plain-p1']) {
    assert.deepEqual(fixture(hand, name), fixture(python, name), name);
  }
  assert.equal(LEGACY_HEADER_BYTES, 16);
});

void test('decodes the hand-made packets field by field; data is a view', () => {
  for (const [name, want] of [
    ['p1', P1],
    ['p2', P2],
    ['p3', P3],
  ] as const) {
    const buf = fixture(hand, name);
    const got = decodeLegacyPacket(buf);
    assert.deepEqual(got, want, name);
    assert.equal(got.data.buffer, buf.buffer);
    assert.equal(got.data.byteOffset, buf.byteOffset + 16);
  }
});

void test('encodes exactly the bytes Python produced (XDR zero padding included)', () => {
  for (const [name, p] of [
    ['p1', P1],
    ['p2', P2],
    ['p3', P3],
  ] as const) {
    assert.deepEqual(
      encodeLegacyPacket(p.tsSec, p.tsUsec, p.origLen, p.data),
      fixture(python, name),
      name,
    );
  }
});

void test('rate control, uncompressed: 0x00 then one legacy frame', () => {
  const msg = fixture(hand, 'shaped-plain-p1');
  assert.equal(msg[0], 0x00);
  assert.deepEqual(decodeLegacyPacket(msg.subarray(1)), P1);
});

void test('rate control, compressed (hand-made stored block): 0x01 then zlib of (u32 BE length + frame)*', () => {
  const msg = fixture(hand, 'shaped-zlib-p1-p3');
  assert.equal(msg[0], 0x01);
  const frames = splitLengthPrefixed(inflateSync(msg.subarray(1)));
  assert.equal(frames.length, 2);
  assert.deepEqual(
    frames.map((f) => decodeLegacyPacket(f)),
    [P1, P3],
  );
});

void test('rate control, compressed (made by zlib.compressobj as the Python shaper does)', () => {
  const msg = fixture(python, 'shaped-zlib-p1-p2-p3');
  assert.equal(msg[0], 0x01);
  assert.equal(msg[1], 0x78, 'zlib format (RFC 1950), not raw deflate');
  const frames = splitLengthPrefixed(inflateSync(msg.subarray(1)));
  assert.deepEqual(frames, [fixture(python, 'p1'), fixture(python, 'p2'), fixture(python, 'p3')]);
  assert.deepEqual(
    frames.map((f) => decodeLegacyPacket(f)),
    [P1, P2, P3],
  );
});

// The same three packets as little-endian pcap records, written out by hand.
const RECORDS_P123 = Buffer.from(
  // P1: ts 1700000000.123456, incl 5, orig 5
  '00f15365' +
    '40e20100' +
    '05000000' +
    '05000000' +
    'deadbeef01' +
    // P2: orig_len 0 on the wire becomes the data length, 8
    '01f15365' +
    '3f420f00' +
    '08000000' +
    '08000000' +
    '4500000800000000' +
    // P3: empty
    '02f15365' +
    '01000000' +
    '00000000' +
    '00000000',
  'hex',
);

void test('legacyPacketsToRecords: one records section, orig_len 0 → data length', () => {
  const records = legacyPacketsToRecords([
    fixture(hand, 'p1'),
    fixture(hand, 'p2'),
    fixture(hand, 'p3'),
  ]);
  assert.deepEqual(records, RECORDS_P123);
  assert.deepEqual(legacyPacketsToRecords([]), Buffer.alloc(0));
});

void test('recordsToLegacyPackets: one message per record, orig_len carried', () => {
  const msgs = recordsToLegacyPackets(RECORDS_P123);
  assert.equal(msgs.length, 3);
  assert.deepEqual(msgs[0], fixture(hand, 'p1'));
  // P2's record says orig_len 8, so the message carries 8 where Python's had 0.
  const p2 = fixture(hand, 'p2');
  p2.writeUInt32BE(8, 8);
  assert.deepEqual(msgs[1], p2);
  assert.deepEqual(msgs[2], fixture(hand, 'p3'));
  assert.deepEqual(recordsToLegacyPackets(Buffer.alloc(0)), []);
});

void test('legacyPacketsToRecords with onBadPacket skips and reports bad messages', () => {
  const bad: [string, number][] = [];
  const records = legacyPacketsToRecords(
    [
      fixture(hand, 'p1'),
      Buffer.alloc(3),
      fixture(hand, 'p2'),
      fixture(hand, 'shaped-plain-p1'),
      fixture(hand, 'p3'),
    ],
    { onBadPacket: (err, index) => bad.push([err.code, index]) },
  );
  assert.deepEqual(records, RECORDS_P123);
  assert.deepEqual(bad, [
    ['ERR_WIRE_SHORT_HEADER', 1],
    ['ERR_WIRE_OVERSIZE', 3],
  ]);
  // Without it, the first bad message throws.
  expectWireError(
    () => legacyPacketsToRecords([fixture(hand, 'p1'), Buffer.alloc(3)]),
    'ERR_WIRE_SHORT_HEADER',
  );
});

void test('legacyPacketsToRecords with linktype 101: a packet shorter than an IPv4 header is a bad message', () => {
  const ip = encodeLegacyPacket(1_700_000_000, 7, 0, Buffer.alloc(20, 0x45));
  const bad: [string, number][] = [];
  const records = legacyPacketsToRecords([fixture(hand, 'p1'), ip, fixture(hand, 'p3')], {
    linktype: 101,
    onBadPacket: (err, index) => bad.push([err.code, index]),
  });
  assert.deepEqual(bad, [
    ['ERR_WIRE_SHORT_RECORD', 0],
    ['ERR_WIRE_SHORT_RECORD', 2],
  ]);
  assert.deepEqual(records, legacyPacketsToRecords([ip]));
  assert.equal(records.length, 16 + 20);
});

void test('legacyPacketsToRecords with nanosecond writes ts_usec × 1000; an unconvertible one is a bad packet', () => {
  const records = legacyPacketsToRecords(
    [fixture(hand, 'p1'), fixture(hand, 'p2'), fixture(hand, 'p3')],
    { nanosecond: true },
  );
  assert.deepEqual(records, recordsToNanosecond(RECORDS_P123));
  const huge = fixture(hand, 'p1');
  huge.writeUInt32BE(4294968, 4);
  const bad: [string, number][] = [];
  const kept = legacyPacketsToRecords([huge, fixture(hand, 'p3')], {
    nanosecond: true,
    onBadPacket: (err, index) => bad.push([err.code, index]),
  });
  assert.deepEqual(bad, [['ERR_WIRE_BAD_TIMESTAMP', 0]]);
  assert.deepEqual(kept, recordsToNanosecond(RECORDS_P123.subarray(RECORDS_P123.length - 16)));
  // Microseconds are carried as they are, whatever the value.
  assert.equal(legacyPacketsToRecords([huge]).readUInt32LE(4), 4294968);
});

function withOpaqueLength(name: string, len: number): Buffer {
  const b = fixture(hand, name);
  b.writeUInt32BE(len, 12);
  return b;
}

const MALFORMED: { name: string; buf: () => Buffer; code: string }[] = [
  { name: 'empty message', buf: () => Buffer.alloc(0), code: 'ERR_WIRE_SHORT_HEADER' },
  {
    name: '15 bytes',
    buf: () => fixture(hand, 'p3').subarray(0, 15),
    code: 'ERR_WIRE_SHORT_HEADER',
  },
  { name: 'ts only', buf: () => fixture(hand, 'p1').subarray(0, 8), code: 'ERR_WIRE_SHORT_HEADER' },
  {
    name: 'padding missing',
    buf: () => fixture(hand, 'p1').subarray(0, 21),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'one padding byte missing',
    buf: () => fixture(hand, 'p1').subarray(0, 23),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'data cut',
    buf: () => fixture(hand, 'p2').subarray(0, 20),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'opaque length lies (+4)',
    buf: () => withOpaqueLength('p1', 9),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'opaque length lies (0x40000 exactly, data absent)',
    buf: () => withOpaqueLength('p1', WIRE_MAX_RECORD_BYTES),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'opaque length lies (-4, trailing)',
    buf: () => withOpaqueLength('p1', 1),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'four trailing zero bytes',
    buf: () => Buffer.concat([fixture(hand, 'p2'), Buffer.alloc(4)]),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'one trailing byte',
    buf: () => Buffer.concat([fixture(hand, 'p3'), Buffer.of(0)]),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'non-zero padding',
    buf: () => {
      const b = fixture(hand, 'p1');
      b[23] = 1;
      return b;
    },
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'opaque length 262145',
    buf: () => withOpaqueLength('p1', WIRE_MAX_RECORD_BYTES + 1),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'opaque length 0xffffffff',
    buf: () => withOpaqueLength('p3', 0xffffffff),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'rate-control 0x00 prefix not stripped',
    buf: () => fixture(hand, 'shaped-plain-p1'),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'rate-control 0x01 batch fed whole',
    buf: () => fixture(python, 'shaped-zlib-p1-p2-p3'),
    code: 'ERR_WIRE_OVERSIZE',
  },
];

for (const { name, buf, code } of MALFORMED) {
  void test(`decodeLegacyPacket rejects: ${name} → ${code}`, () => {
    const b = buf();
    expectWireError(() => decodeLegacyPacket(b), code);
    expectWireError(() => legacyPacketsToRecords([b]), code);
  });
}

void test('recordsToLegacyPackets rejects malformed records sections', () => {
  expectWireError(
    () => recordsToLegacyPackets(RECORDS_P123.subarray(0, 30)),
    'ERR_WIRE_TRUNCATED_RECORD',
  );
  expectWireError(
    () => recordsToLegacyPackets(RECORDS_P123.subarray(0, 20)),
    'ERR_WIRE_TRUNCATED_RECORD',
  );
  expectWireError(
    () => recordsToLegacyPackets(RECORDS_P123.subarray(0, 21 + 10)),
    'ERR_WIRE_TRUNCATED_RECORD',
  );
  const big = Buffer.alloc(16);
  big.writeUInt32LE(WIRE_MAX_RECORD_BYTES + 1, 8);
  expectWireError(() => recordsToLegacyPackets(big), 'ERR_WIRE_OVERSIZE');
});

void test('encodeLegacyPacket rejects values that do not fit XDR u32 and oversize packets', () => {
  const d = Buffer.alloc(1);
  expectWireError(() => encodeLegacyPacket(-1, 0, 0, d), 'ERR_WIRE_BAD_FIELD');
  expectWireError(() => encodeLegacyPacket(2 ** 32, 0, 0, d), 'ERR_WIRE_BAD_FIELD');
  expectWireError(() => encodeLegacyPacket(0, 0.5, 0, d), 'ERR_WIRE_BAD_FIELD');
  expectWireError(() => encodeLegacyPacket(0, 0, -5, d), 'ERR_WIRE_BAD_FIELD');
  expectWireError(
    () => encodeLegacyPacket(0, 0, 0, Buffer.alloc(WIRE_MAX_RECORD_BYTES + 1)),
    'ERR_WIRE_OVERSIZE',
  );
  assert.equal(
    encodeLegacyPacket(0, 0, 0, Buffer.alloc(WIRE_MAX_RECORD_BYTES)).length,
    16 + WIRE_MAX_RECORD_BYTES,
  );
});

// ---- property-based round trips ----

const pktArb = fc.record({
  tsSec: fc.nat({ max: 0xffffffff }),
  tsUsec: fc.nat({ max: 999999 }),
  origLen: fc.nat({ max: 0xffffffff }),
  data: fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
});

void test('property: encodeLegacyPacket → decodeLegacyPacket is the identity; length is XDR-padded', () => {
  fc.assert(
    fc.property(pktArb, (p) => {
      const msg = encodeLegacyPacket(p.tsSec, p.tsUsec, p.origLen, p.data);
      assert.equal(msg.length, 16 + Math.ceil(p.data.length / 4) * 4);
      assert.deepEqual(decodeLegacyPacket(msg), { ...p }); // fast-check records have a null prototype
    }),
    { numRuns: 500 },
  );
});

void test('property: records → legacy messages → records is the identity (orig_len ≥ 1)', () => {
  const recPkt = pktArb.map((p) => ({ ...p, origLen: Math.max(1, p.origLen) }));
  fc.assert(
    fc.property(fc.array(recPkt, { maxLength: 20 }), (pkts) => {
      // Records built by hand, independent of the codec.
      const records = Buffer.concat(
        pkts.flatMap((p) => {
          const h = Buffer.alloc(16);
          h.writeUInt32LE(p.tsSec, 0);
          h.writeUInt32LE(p.tsUsec, 4);
          h.writeUInt32LE(p.data.length, 8);
          h.writeUInt32LE(p.origLen, 12);
          return [h, p.data];
        }),
      );
      const msgs = recordsToLegacyPackets(records);
      assert.equal(msgs.length, pkts.length);
      msgs.forEach((m, i) => assert.deepEqual(decodeLegacyPacket(m), pkts[i]));
      assert.deepEqual(legacyPacketsToRecords(msgs), records);
    }),
    { numRuns: 300 },
  );
});

// ---- fuzz-ish: nothing but WireError ever escapes ----

void test('fuzz: 2000 random and mutated messages decode or throw WireError only', () => {
  const seeds = ['p1', 'p2', 'p3'].map((n) => fixture(hand, n));
  const mutated = mutatedMessages(seeds);
  // Random bytes behind a plausible small opaque length, so some decode.
  const smallLength = fc
    .tuple(
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.nat({ max: 40 }),
      fc.uint8Array({ maxLength: 44 }),
    )
    .map(([head, len, rest]) => {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(len);
      return Buffer.concat([Buffer.from(head), l, Buffer.from(rest)]);
    });
  const random = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
  const { decoded, rejected } = fuzzDecode(
    fc.oneof(mutated, smallLength, random),
    decodeLegacyPacket,
    (buf, p) => {
      assert.equal(buf.length, 16 + Math.ceil(p.data.length / 4) * 4);
      assert.equal(legacyPacketsToRecords([buf]).length, 16 + p.data.length);
    },
  );
  assert.ok(decoded > 0 && rejected > 0);
});
