// Proves the v1 codec matches the hand-made byte tables, round-trips any frame, and rejects every malformed-input class with its stable WireError code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { recordsToNanosecond } from '@nflog-pipe/pcap-writer';
import {
  WIRE_DEFAULT_MAX_RAW_BYTES,
  WIRE_FLAG_COMPRESSED,
  WIRE_FLAG_KERNEL_ORDER,
  WIRE_FLAG_METADATA,
  WIRE_NAMESPACE_ID_BYTES,
  WIRE_ORDER_FIXED_BYTES,
  WIRE_MAX_RECORD_BYTES,
  WIRE_V1_HEADER_BYTES,
  WIRE_V1_MAGIC,
  WIRE_V1_VERSION,
  decodeFrame,
  decodeFrameMeta,
  encodeFrame,
  encodeFrameMeta,
  isV1Frame,
  seqGlobalBefore,
  validateRecords,
  type FrameFields,
  type FrameOrder,
} from '../src/index.js';
import { expectWireError, fixture, fuzzDecode, loadHex, mutatedMessages } from './helpers.js';

const v1 = loadHex('v1-handmade.hex');
const legacy = loadHex('legacy-handmade.hex');

const GOLDEN_META = Buffer.from('{"host":"gw1"}');
const GOLDEN_RECORDS = Buffer.from(
  '00f15365' +
    '40e20100' +
    '14000000' +
    '3c000000' +
    '4500003c1c4640004006b1e6ac100a63ac100a0c' +
    '01f15365' +
    '00000000' +
    '14000000' +
    '14000000' +
    '450000141234400040fd29b77f0000017f000001',
  'hex',
);
const RECORD_1 = GOLDEN_RECORDS.subarray(36);
/** The kernel-order section of fixture "kernel-order", without its numbers. */
const ORDER: FrameOrder = {
  namespaceId: Buffer.from('8072cde035fd4e4b9d3d972017ac5c33f9ffffef00000000', 'hex'),
  delayBoundMs: 30,
  seqGlobal: Buffer.alloc(0),
};

void test('constants match the documented layout', () => {
  assert.equal(WIRE_V1_MAGIC, Buffer.from('NFPZ').readUInt32LE(0));
  assert.equal(WIRE_V1_VERSION, 1);
  assert.equal(WIRE_V1_HEADER_BYTES, 40);
  assert.equal(WIRE_FLAG_COMPRESSED, 1);
  assert.equal(WIRE_FLAG_METADATA, 2);
  assert.equal(WIRE_MAX_RECORD_BYTES, 262144);
  assert.equal(WIRE_DEFAULT_MAX_RAW_BYTES, 64 * 1024 * 1024);
});

void test('decodes the hand-made golden frame field by field, records and meta as views', () => {
  const buf = fixture(v1, 'golden');
  assert.equal(buf.length, 126);
  const frame = decodeFrame(buf);
  assert.equal(frame.flags, WIRE_FLAG_METADATA);
  assert.equal(frame.compressed, false);
  assert.equal(frame.linktype, 101);
  assert.equal(frame.count, 2);
  assert.equal(frame.senderId, 0x0102030405060708n);
  assert.equal(frame.firstSeq, 42n);
  assert.equal(frame.recordsBytes, 72);
  assert.equal(frame.rawBytes, 72);
  assert.deepEqual(frame.meta, GOLDEN_META);
  assert.deepEqual(frame.records, GOLDEN_RECORDS);
  // Views, not copies: same memory as the message.
  assert.equal(frame.records.buffer, buf.buffer);
  assert.equal(frame.records.byteOffset, buf.byteOffset + 54);
  assert.equal(frame.meta?.buffer, buf.buffer);
  assert.equal(frame.meta?.byteOffset, buf.byteOffset + 40);
  assert.deepEqual(decodeFrameMeta(frame.meta), { host: 'gw1' });
});

void test('encodes the golden frame to exactly the hand-made bytes', () => {
  const out = encodeFrame(
    { linktype: 101, senderId: 0x0102030405060708n, firstSeq: 42n, count: 2, meta: GOLDEN_META },
    GOLDEN_RECORDS,
  );
  assert.deepEqual(out, fixture(v1, 'golden'));
  // Passing the metadata flag explicitly gives the same bytes.
  const again = encodeFrame(
    {
      linktype: 101,
      senderId: 0x0102030405060708n,
      firstSeq: 42n,
      count: 2,
      flags: WIRE_FLAG_METADATA,
      meta: encodeFrameMeta({ host: 'gw1' }),
    },
    GOLDEN_RECORDS,
  );
  assert.deepEqual(again, fixture(v1, 'golden'));
});

void test('heartbeat: count 0, no records, no meta', () => {
  const buf = fixture(v1, 'heartbeat');
  const frame = decodeFrame(buf);
  assert.deepEqual(
    { ...frame, records: frame.records.length },
    {
      flags: 0,
      compressed: false,
      linktype: 239,
      count: 0,
      senderId: 1n,
      firstSeq: 1000n,
      recordsBytes: 0,
      rawBytes: 0,
      records: 0,
    },
  );
  assert.equal('meta' in frame, false);
  assert.deepEqual(
    encodeFrame({ linktype: 239, senderId: 1n, firstSeq: 1000n, count: 0 }, Buffer.alloc(0)),
    buf,
  );
  // An empty meta buffer means "no metadata", not a zero-length section.
  assert.deepEqual(
    encodeFrame(
      { linktype: 239, senderId: 1n, firstSeq: 1000n, count: 0, meta: Buffer.alloc(0) },
      Buffer.alloc(0),
    ),
    buf,
  );
});

void test('compressed frame: header checked, records are raw deflate that inflates to rawBytes', () => {
  const buf = fixture(v1, 'compressed');
  const frame = decodeFrame(buf);
  assert.equal(frame.compressed, true);
  assert.equal(frame.flags, WIRE_FLAG_COMPRESSED);
  assert.equal(frame.count, 1);
  assert.equal(frame.recordsBytes, 41);
  assert.equal(frame.rawBytes, 36);
  assert.equal(frame.senderId, 2n ** 64n - 1n);
  assert.equal(frame.firstSeq, 2n ** 64n - 2n);
  const raw = inflateRawSync(frame.records, { maxOutputLength: frame.rawBytes });
  assert.deepEqual(raw, RECORD_1);
  validateRecords(raw, frame.count);
  const out = encodeFrame(
    {
      linktype: 101,
      senderId: 2n ** 64n - 1n,
      firstSeq: 2n ** 64n - 2n,
      count: 1,
      flags: WIRE_FLAG_COMPRESSED,
      rawBytes: 36,
    },
    frame.records,
  );
  assert.deepEqual(out, buf);
});

void test('isV1Frame looks at the magic only', () => {
  assert.equal(isV1Frame(fixture(v1, 'golden')), true);
  assert.equal(isV1Frame(fixture(v1, 'heartbeat')), true);
  assert.equal(isV1Frame(Buffer.from('NFPZ')), true);
  assert.equal(isV1Frame(Buffer.from('NFP')), false);
  assert.equal(isV1Frame(Buffer.alloc(0)), false);
  assert.equal(isV1Frame(fixture(legacy, 'p1')), false);
  assert.equal(isV1Frame(fixture(legacy, 'shaped-plain-p1')), false);
  assert.equal(isV1Frame(fixture(legacy, 'shaped-zlib-p1-p3')), false);
});

// Builds a copy of a fixture with some header bytes changed.
function patched(name: string, edit: (b: Buffer) => void): Buffer {
  const b = fixture(v1, name);
  edit(b);
  return b;
}

// A frame whose one record claims `inclLen`, with the header consistent with what is present.
function frameWithRecordHeader(inclLen: number, present: number): Buffer {
  const rec = Buffer.alloc(16 + present);
  rec.writeUInt32LE(inclLen, 8);
  rec.writeUInt32LE(inclLen, 12);
  return encodeFrame({ linktype: 101, senderId: 7n, firstSeq: 0n, count: 1 }, rec);
}

const MALFORMED: { name: string; buf: () => Buffer; code: string; maxRawBytes?: number }[] = [
  { name: 'empty message', buf: () => Buffer.alloc(0), code: 'ERR_WIRE_SHORT_HEADER' },
  { name: '3 bytes', buf: () => Buffer.from('NFP'), code: 'ERR_WIRE_SHORT_HEADER' },
  { name: 'magic then nothing', buf: () => Buffer.from('NFPZ'), code: 'ERR_WIRE_SHORT_HEADER' },
  {
    name: 'header cut at 39 bytes',
    buf: () => fixture(v1, 'golden').subarray(0, 39),
    code: 'ERR_WIRE_SHORT_HEADER',
  },
  {
    name: 'bad magic',
    buf: () => patched('golden', (b) => (b[3] = 0x5b)),
    code: 'ERR_WIRE_BAD_MAGIC',
  },
  {
    name: 'big-endian magic',
    buf: () => patched('golden', (b) => b.write('ZPFN', 0, 'latin1')),
    code: 'ERR_WIRE_BAD_MAGIC',
  },
  { name: 'legacy message', buf: () => fixture(legacy, 'p1'), code: 'ERR_WIRE_BAD_MAGIC' },
  {
    name: 'short legacy message',
    buf: () => fixture(legacy, 'p3').subarray(0, 12),
    code: 'ERR_WIRE_BAD_MAGIC',
  },
  {
    name: 'version 0',
    buf: () => patched('golden', (b) => (b[4] = 0)),
    code: 'ERR_WIRE_BAD_VERSION',
  },
  {
    name: 'version 2',
    buf: () => patched('heartbeat', (b) => (b[4] = 2)),
    code: 'ERR_WIRE_BAD_VERSION',
  },
  {
    // What a decoder without WIRE_FLAG_KERNEL_ORDER did with a frame carrying it.
    name: 'flag bit 3',
    buf: () => patched('golden', (b) => (b[5] = 0x0a)),
    code: 'ERR_WIRE_BAD_FLAGS',
  },
  {
    name: 'kernel-order flag without its section',
    buf: () => patched('golden', (b) => (b[5] = 0x06)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'kernel-order section cut short',
    buf: () => {
      const b = fixture(v1, 'kernel-order');
      return Buffer.concat([b.subarray(0, 40 + 36), b.subarray(40 + 40)]);
    },
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'kernel-order section reserved not 0',
    buf: () => patched('kernel-order', (b) => (b[40 + 28] = 1)),
    code: 'ERR_WIRE_BAD_RESERVED',
  },
  {
    name: 'flag bit 7',
    buf: () => patched('heartbeat', (b) => (b[5] = 0x80)),
    code: 'ERR_WIRE_BAD_FLAGS',
  },
  {
    name: 'reserved not 0',
    buf: () => patched('heartbeat', (b) => (b[23] = 1)),
    code: 'ERR_WIRE_BAD_RESERVED',
  },
  {
    name: 'metaBytes without the flag',
    buf: () => patched('golden', (b) => (b[5] = 0)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'metadata flag, metaBytes 0',
    buf: () => patched('heartbeat', (b) => (b[5] = WIRE_FLAG_METADATA)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'metaBytes lies (+1)',
    buf: () => patched('golden', (b) => b.writeUInt16LE(15, 20)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'recordsBytes lies (+1)',
    buf: () => patched('golden', (b) => b.writeUInt32LE(73, 12)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'recordsBytes lies (0xffffffff)',
    buf: () => patched('golden', (b) => b.writeUInt32LE(0xffffffff, 12)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'one trailing byte',
    buf: () => Buffer.concat([fixture(v1, 'golden'), Buffer.of(0)]),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'last byte missing',
    buf: () => fixture(v1, 'golden').subarray(0, 125),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'heartbeat with a stray byte',
    buf: () => Buffer.concat([fixture(v1, 'heartbeat'), Buffer.of(0)]),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'uncompressed, rawBytes != recordsBytes',
    buf: () => patched('golden', (b) => b.writeUInt32LE(71, 16)),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'uncompressed above the cap',
    buf: () => fixture(v1, 'golden'),
    maxRawBytes: 71,
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'compressed rawBytes above the cap',
    buf: () => fixture(v1, 'compressed'),
    maxRawBytes: 35,
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'compressed rawBytes 4 GiB - 1',
    buf: () => patched('compressed', (b) => b.writeUInt32LE(0xffffffff, 16)),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'record incl_len 262145',
    buf: () => frameWithRecordHeader(WIRE_MAX_RECORD_BYTES + 1, WIRE_MAX_RECORD_BYTES + 1),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'record incl_len lies (0xffffffff)',
    buf: () => patched('golden', (b) => b.writeUInt32LE(0xffffffff, 54 + 8)),
    code: 'ERR_WIRE_OVERSIZE',
  },
  {
    name: 'count says 3, holds 2',
    buf: () => patched('golden', (b) => b.writeUInt32LE(3, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'count says 1, holds 2',
    buf: () => patched('golden', (b) => b.writeUInt32LE(1, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'count says 0, holds 2',
    buf: () => patched('golden', (b) => b.writeUInt32LE(0, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'count 0xffffffff',
    buf: () => patched('golden', (b) => b.writeUInt32LE(0xffffffff, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'heartbeat claiming a record',
    buf: () => patched('heartbeat', (b) => b.writeUInt32LE(1, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'compressed, count 2 in 36 raw bytes',
    buf: () => patched('compressed', (b) => b.writeUInt32LE(2, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'compressed, count 0 with raw bytes',
    buf: () => patched('compressed', (b) => b.writeUInt32LE(0, 8)),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'record incl_len lies (+1, past the end)',
    buf: () => patched('golden', (b) => b.writeUInt32LE(21, 54 + 36 + 8)),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'record incl_len lies (-1, leftover byte)',
    buf: () => frameWithRecordHeader(20, 21),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'partial record header after the last record',
    buf: () =>
      encodeFrame(
        { linktype: 101, senderId: 7n, firstSeq: 0n, count: 1 },
        GOLDEN_RECORDS.subarray(0, 46),
      ),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'message cut inside a record header',
    buf: () => frameWithRecordHeader(0, 0).subarray(0, 40 + 10),
    code: 'ERR_WIRE_LENGTH_MISMATCH',
  },
  {
    name: 'record data missing',
    buf: () => frameWithRecordHeader(100, 50),
    code: 'ERR_WIRE_TRUNCATED_RECORD',
  },
  {
    name: 'raw IP record shorter than an IPv4 header (19 bytes)',
    buf: () =>
      encodeFrame(
        { linktype: 101, senderId: 7n, firstSeq: 0n, count: 2 },
        buildRecords([
          { tsSec: 0, tsUsec: 0, data: new Uint8Array(19), extra: 0 },
          { tsSec: 0, tsUsec: 0, data: new Uint8Array(21), extra: 0 },
        ]),
      ),
    code: 'ERR_WIRE_SHORT_RECORD',
  },
  {
    name: 'raw IP record of 0 bytes, beside a longer one',
    buf: () =>
      encodeFrame(
        { linktype: 101, senderId: 7n, firstSeq: 0n, count: 2 },
        buildRecords([
          { tsSec: 0, tsUsec: 0, data: new Uint8Array(40), extra: 0 },
          { tsSec: 0, tsUsec: 0, data: new Uint8Array(0), extra: 0 },
        ]),
      ),
    code: 'ERR_WIRE_SHORT_RECORD',
  },
  {
    name: 'NFLOG record shorter than the 4-byte nflog_hdr',
    buf: () => patched('nflog-short', () => {}),
    code: 'ERR_WIRE_SHORT_RECORD',
  },
  {
    name: 'uncompressed, count 2 cannot fit 36 bytes of raw IP records',
    buf: () =>
      encodeFrame(
        { linktype: 101, senderId: 7n, firstSeq: 0n, count: 2 },
        Buffer.concat([RECORD_1.subarray(0, 16), Buffer.alloc(20)]),
      ),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
  {
    name: 'compressed, 4194304 records claimed in 64 MiB (a small bomb of empty records)',
    buf: () =>
      patched('compressed', (b) => {
        b.writeUInt32LE(4194304, 8);
        b.writeUInt32LE(64 * 1024 * 1024, 16);
      }),
    code: 'ERR_WIRE_COUNT_MISMATCH',
  },
];

for (const { name, buf, code, maxRawBytes } of MALFORMED) {
  void test(`decodeFrame rejects: ${name} → ${code}`, () => {
    const b = buf();
    expectWireError(() => decodeFrame(b, maxRawBytes === undefined ? {} : { maxRawBytes }), code);
  });
}

void test('validateRecords rejects each bad records section with its code', () => {
  validateRecords(Buffer.alloc(0), 0);
  validateRecords(GOLDEN_RECORDS, 2);
  expectWireError(() => validateRecords(GOLDEN_RECORDS, 3), 'ERR_WIRE_COUNT_MISMATCH');
  expectWireError(() => validateRecords(GOLDEN_RECORDS, 1), 'ERR_WIRE_COUNT_MISMATCH');
  expectWireError(
    () => validateRecords(GOLDEN_RECORDS.subarray(0, 71), 2),
    'ERR_WIRE_TRUNCATED_RECORD',
  );
  expectWireError(
    () => validateRecords(GOLDEN_RECORDS.subarray(0, 30), 1),
    'ERR_WIRE_TRUNCATED_RECORD',
  );
  const big = Buffer.alloc(16);
  big.writeUInt32LE(WIRE_MAX_RECORD_BYTES + 1, 8);
  expectWireError(() => validateRecords(big, 1), 'ERR_WIRE_OVERSIZE');
  // Exactly WIRE_MAX_RECORD_BYTES is allowed.
  const max = Buffer.alloc(16 + WIRE_MAX_RECORD_BYTES);
  max.writeUInt32LE(WIRE_MAX_RECORD_BYTES, 8);
  validateRecords(max, 1);
});

void test('validateRecords with a linktype refuses records shorter than it allows, and counts that cannot fit', () => {
  validateRecords(GOLDEN_RECORDS, 2, { linktype: 101 });
  validateRecords(GOLDEN_RECORDS, 2, { linktype: 239 });
  const short = buildRecords([
    { tsSec: 0, tsUsec: 0, data: new Uint8Array(40), extra: 0 },
    { tsSec: 0, tsUsec: 0, data: new Uint8Array(4), extra: 0 },
  ]);
  validateRecords(short, 2); // no linktype: any length
  validateRecords(short, 2, { linktype: 239 }); // 4 bytes: an nflog_hdr
  expectWireError(() => validateRecords(short, 2, { linktype: 101 }), 'ERR_WIRE_SHORT_RECORD');
  // 3 records of raw IP need 3 × 36 bytes before anything is walked.
  expectWireError(
    () => validateRecords(Buffer.alloc(100), 3, { linktype: 101 }),
    'ERR_WIRE_COUNT_MISMATCH',
  );
});

void test('validateRecords with nanosecond converts ts_usec in the same walk, in place', () => {
  const records = Buffer.from(GOLDEN_RECORDS);
  validateRecords(records, 2, { nanosecond: true });
  // 123456 µs → 123456000 ns (0x075bca00); 0 stays 0; nothing else changes.
  const expected = Buffer.from(GOLDEN_RECORDS);
  expected.writeUInt32LE(123456000, 4);
  assert.deepEqual(records, expected);
  // decodeFrame passes it on: the frame's records (a view into the message) are converted.
  const msg = encodeFrame({ linktype: 101, senderId: 1n, firstSeq: 0n, count: 2 }, GOLDEN_RECORDS);
  assert.deepEqual(decodeFrame(msg, { nanosecond: true }).records, expected);
  assert.deepEqual(msg.subarray(WIRE_V1_HEADER_BYTES), expected);
  // A ts_usec that cannot be microseconds is a bad frame, not a wrapped value.
  const bad = Buffer.from(GOLDEN_RECORDS);
  bad.writeUInt32LE(4294968, 40);
  expectWireError(() => validateRecords(bad, 2, { nanosecond: true }), 'ERR_WIRE_BAD_TIMESTAMP');
  const top = Buffer.from(GOLDEN_RECORDS);
  top.writeUInt32LE(4294967, 40);
  validateRecords(top, 2, { nanosecond: true });
  assert.equal(top.readUInt32LE(40), 4294967000);
  // Without the option the same value is only data.
  const raw = Buffer.from(GOLDEN_RECORDS);
  raw.writeUInt32LE(0xffffffff, 40);
  validateRecords(raw, 2);
});

void test('encodeFrame rejects fields that do not fit the header', () => {
  const base: FrameFields = { linktype: 101, senderId: 1n, firstSeq: 0n, count: 0 };
  const none = Buffer.alloc(0);
  const cases: [FrameFields, string][] = [
    [{ ...base, flags: 0x08 }, 'ERR_WIRE_BAD_FLAGS'],
    [{ ...base, flags: WIRE_FLAG_KERNEL_ORDER }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, order: { ...ORDER, seqGlobal: Buffer.alloc(4) } }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, order: { ...ORDER, namespaceId: Buffer.alloc(16) } }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, order: { ...ORDER, delayBoundMs: 2 ** 32 } }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, flags: -1 }, 'ERR_WIRE_BAD_FLAGS'],
    [{ ...base, flags: 0x101 }, 'ERR_WIRE_BAD_FLAGS'],
    [{ ...base, flags: WIRE_FLAG_METADATA }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, meta: Buffer.alloc(65536, 0x20) }, 'ERR_WIRE_OVERSIZE'],
    [{ ...base, linktype: 65536 }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, linktype: 1.5 }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, count: -1 }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, count: 2 ** 32 }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, senderId: -1n }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, senderId: 2n ** 64n }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, firstSeq: 2n ** 64n }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, flags: WIRE_FLAG_COMPRESSED }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, flags: WIRE_FLAG_COMPRESSED, rawBytes: -1 }, 'ERR_WIRE_BAD_FIELD'],
    [{ ...base, rawBytes: 5 }, 'ERR_WIRE_BAD_FIELD'],
  ];
  for (const [fields, code] of cases) expectWireError(() => encodeFrame(fields, none), code);
  // A metadata section of exactly 65535 bytes fits.
  const frame = decodeFrame(encodeFrame({ ...base, meta: Buffer.alloc(65535, 0x20) }, none));
  assert.equal(frame.meta?.length, 65535);
});

void test('kernel-order section: the hand-made frame decodes field by field and encodes back byte for byte', () => {
  assert.deepEqual(
    [WIRE_FLAG_KERNEL_ORDER, WIRE_ORDER_FIXED_BYTES, WIRE_NAMESPACE_ID_BYTES],
    [4, 32, 24],
  );
  const buf = fixture(v1, 'kernel-order');
  const frame = decodeFrame(buf);
  assert.equal(frame.flags, WIRE_FLAG_KERNEL_ORDER);
  assert.equal(frame.meta, undefined);
  assert.deepEqual(frame.records, GOLDEN_RECORDS);
  assert.ok(frame.order !== undefined);
  assert.deepEqual(frame.order.namespaceId, ORDER.namespaceId);
  assert.equal(frame.order.namespaceId.readBigUInt64LE(16), 4026531833n);
  assert.equal(frame.order.delayBoundMs, 30);
  assert.deepEqual(
    [frame.order.seqGlobal.readUInt32LE(0), frame.order.seqGlobal.readUInt32LE(4)],
    [0xffffffff, 0],
  );
  // Views into the message, like records and meta.
  assert.equal(frame.order.seqGlobal.buffer, buf.buffer);
  assert.equal(frame.order.seqGlobal.byteOffset, buf.byteOffset + 40 + 32);
  const seqGlobal = Buffer.from('ffffffff00000000', 'hex');
  const out = encodeFrame(
    {
      linktype: 101,
      senderId: 0x0102030405060708n,
      firstSeq: 42n,
      count: 2,
      order: { ...ORDER, seqGlobal },
    },
    [GOLDEN_RECORDS.subarray(0, 36), RECORD_1],
  );
  assert.equal(out.toString('hex'), buf.toString('hex'));
  // With metadata too: header, metadata, kernel-order section, records.
  const both = decodeFrame(
    encodeFrame(
      {
        linktype: 239,
        senderId: 7n,
        firstSeq: 0n,
        count: 2,
        meta: GOLDEN_META,
        order: { ...ORDER, seqGlobal },
      },
      GOLDEN_RECORDS,
    ),
  );
  assert.equal(both.flags, WIRE_FLAG_METADATA | WIRE_FLAG_KERNEL_ORDER);
  assert.deepEqual(
    [both.meta, both.order?.seqGlobal, both.records],
    [GOLDEN_META, seqGlobal, GOLDEN_RECORDS],
  );
  // A heartbeat may carry the section: 32 bytes, no numbers.
  const hb = decodeFrame(
    encodeFrame({ linktype: 101, senderId: 7n, firstSeq: 9n, count: 0, order: ORDER }, []),
  );
  assert.deepEqual([hb.count, hb.order?.seqGlobal.length, hb.order?.delayBoundMs], [0, 0, 30]);
});

void test('seqGlobalBefore: RFC 1982 order of 32-bit numbers, across the wrap', () => {
  assert.equal(seqGlobalBefore(1, 2), true);
  assert.equal(seqGlobalBefore(2, 1), false);
  assert.equal(seqGlobalBefore(5, 5), false);
  assert.equal(seqGlobalBefore(0xffffffff, 0), true);
  assert.equal(seqGlobalBefore(0, 0xffffffff), false);
  assert.equal(seqGlobalBefore(0xfffffff0, 0x10), true);
  assert.equal(seqGlobalBefore(0, 0x7fffffff), true);
  assert.equal(seqGlobalBefore(0, 0x80000000), false, '2^31 apart: unordered');
});

void test('frame metadata helpers: JSON object only', () => {
  const meta = { host: 'gw1', pid: 4242, groups: [0, 1], kernelDropped: 3 };
  assert.deepEqual(decodeFrameMeta(encodeFrameMeta(meta)), meta);
  expectWireError(() => decodeFrameMeta(Buffer.from('[1,2]')), 'ERR_WIRE_BAD_META');
  expectWireError(() => decodeFrameMeta(Buffer.from('null')), 'ERR_WIRE_BAD_META');
  expectWireError(() => decodeFrameMeta(Buffer.from('{"a":')), 'ERR_WIRE_BAD_META');
  expectWireError(() => decodeFrameMeta(Buffer.from([0x22, 0xff, 0x22])), 'ERR_WIRE_BAD_META');
  expectWireError(() => encodeFrameMeta({ pad: 'x'.repeat(65535) }), 'ERR_WIRE_OVERSIZE');
});

// ---- property-based round trips ----

interface Pkt {
  tsSec: number;
  tsUsec: number;
  data: Uint8Array;
  extra: number;
}
const pktArb: fc.Arbitrary<Pkt> = fc.record({
  tsSec: fc.nat({ max: 0xffffffff }),
  tsUsec: fc.nat({ max: 999999 }),
  // At least an IPv4 header: the shortest record linktypes 101 and 239 allow.
  data: fc.uint8Array({ minLength: 20, maxLength: 300 }),
  extra: fc.nat({ max: 1500 }),
});

// Independent of the codec under test: builds pcap records by hand.
function buildRecords(pkts: readonly Pkt[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pkts) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(p.tsSec, 0);
    h.writeUInt32LE(p.tsUsec, 4);
    h.writeUInt32LE(p.data.length, 8);
    h.writeUInt32LE(p.data.length + p.extra, 12);
    parts.push(h, Buffer.from(p.data));
  }
  return Buffer.concat(parts);
}

const fieldsArb = fc.record({
  linktype: fc.constantFrom(101, 239),
  senderId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  firstSeq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  meta: fc.option(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
    { nil: undefined },
  ),
  order: fc.option(
    fc.record({
      namespaceId: fc.uint8Array({ minLength: 24, maxLength: 24 }),
      delayBoundMs: fc.nat({ max: 0xffffffff }),
      firstSeqGlobal: fc.nat({ max: 0xffffffff }),
    }),
    { nil: undefined },
  ),
});

/** A kernel-order section for `count` records from the arbitrary's values (numbers 1 apart). */
function orderOf(
  o: { namespaceId: Uint8Array; delayBoundMs: number; firstSeqGlobal: number },
  count: number,
): FrameOrder {
  const seqGlobal = Buffer.alloc(count * 4);
  for (let i = 0; i < count; i++) seqGlobal.writeUInt32LE((o.firstSeqGlobal + i) >>> 0, i * 4);
  return { namespaceId: Buffer.from(o.namespaceId), delayBoundMs: o.delayBoundMs, seqGlobal };
}

void test('property: encodeFrame of records given in pieces equals encodeFrame of their concatenation', () => {
  fc.assert(
    fc.property(
      fieldsArb,
      fc.array(fc.array(pktArb, { maxLength: 6 }), { maxLength: 6 }),
      (f, groups) => {
        const pieces = groups.map((pkts) => buildRecords(pkts));
        const fields = {
          linktype: f.linktype,
          senderId: f.senderId,
          firstSeq: f.firstSeq,
          count: groups.reduce((n, g) => n + g.length, 0),
        };
        assert.deepEqual(encodeFrame(fields, pieces), encodeFrame(fields, Buffer.concat(pieces)));
      },
    ),
  );
});

void test('property: encodeFrame → decodeFrame returns every field and the exact records', () => {
  fc.assert(
    fc.property(fieldsArb, fc.array(pktArb, { maxLength: 20 }), (f, pkts) => {
      const records = buildRecords(pkts);
      const meta = f.meta === undefined ? undefined : encodeFrameMeta(f.meta);
      const order = f.order === undefined ? undefined : orderOf(f.order, pkts.length);
      const buf = encodeFrame(
        {
          linktype: f.linktype,
          senderId: f.senderId,
          firstSeq: f.firstSeq,
          count: pkts.length,
          meta,
          ...(order !== undefined ? { order } : {}),
        },
        records,
      );
      const orderBytes = order === undefined ? 0 : 32 + 4 * pkts.length;
      assert.equal(buf.length, 40 + (meta?.length ?? 0) + orderBytes + records.length);
      const frame = decodeFrame(buf);
      assert.deepEqual(frame.order, order);
      assert.equal((frame.flags & WIRE_FLAG_KERNEL_ORDER) !== 0, order !== undefined);
      assert.equal(frame.linktype, f.linktype);
      assert.equal(frame.senderId, f.senderId);
      assert.equal(frame.firstSeq, f.firstSeq);
      assert.equal(frame.count, pkts.length);
      assert.equal(frame.compressed, false);
      assert.equal(frame.recordsBytes, records.length);
      assert.equal(frame.rawBytes, records.length);
      assert.deepEqual(frame.records, records);
      if (meta === undefined || meta.length === 0) {
        assert.equal(frame.meta, undefined);
        assert.equal(frame.flags & WIRE_FLAG_METADATA, 0);
      } else {
        assert.equal(frame.flags & WIRE_FLAG_METADATA, WIRE_FLAG_METADATA);
        assert.deepEqual(
          JSON.parse(frame.meta!.toString('utf8')),
          JSON.parse(meta.toString('utf8')),
        );
      }
    }),
    { numRuns: 300 },
  );
});

void test('property: decodeFrame with nanosecond gives the records of recordsToNanosecond', () => {
  fc.assert(
    fc.property(fc.array(pktArb, { maxLength: 20 }), (pkts) => {
      const records = buildRecords(pkts);
      const fields = { linktype: 101, senderId: 1n, firstSeq: 0n, count: pkts.length };
      const frame = decodeFrame(encodeFrame(fields, records), { nanosecond: true });
      assert.deepEqual(frame.records, recordsToNanosecond(records));
    }),
    { numRuns: 200 },
  );
});

void test('property: compressed frames round-trip through raw deflate with rawBytes as the cap', () => {
  fc.assert(
    fc.property(fieldsArb, fc.array(pktArb, { minLength: 1, maxLength: 10 }), (f, pkts) => {
      const records = buildRecords(pkts);
      const deflated = deflateRawSync(records);
      const buf = encodeFrame(
        {
          linktype: f.linktype,
          senderId: f.senderId,
          firstSeq: f.firstSeq,
          count: pkts.length,
          flags: WIRE_FLAG_COMPRESSED,
          rawBytes: records.length,
        },
        deflated,
      );
      const frame = decodeFrame(buf);
      assert.equal(frame.compressed, true);
      assert.equal(frame.recordsBytes, deflated.length);
      assert.equal(frame.rawBytes, records.length);
      const raw = inflateRawSync(frame.records, { maxOutputLength: frame.rawBytes });
      assert.deepEqual(raw, records);
      validateRecords(raw, frame.count);
    }),
    { numRuns: 100 },
  );
});

// ---- fuzz-ish: nothing but WireError ever escapes ----

void test('fuzz: 2000 random and mutated messages decode or throw WireError only', () => {
  const seeds = [fixture(v1, 'golden'), fixture(v1, 'heartbeat'), fixture(v1, 'compressed')];
  const mutated = mutatedMessages(seeds);
  const magicPrefixed = fc
    .uint8Array({ maxLength: 120 })
    .map((u) => Buffer.concat([Buffer.from('NFPZ\x01'), Buffer.from(u)]));
  const random = fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u));
  const { rejected } = fuzzDecode(
    fc.oneof(mutated, magicPrefixed, random),
    (buf) => decodeFrame(buf),
    (buf, frame) => {
      // Whatever decodes is self-consistent.
      assert.equal(frame.records.length, frame.recordsBytes);
      assert.equal(buf.length, 40 + (frame.meta?.length ?? 0) + frame.recordsBytes);
      if (!frame.compressed) validateRecords(frame.records, frame.count);
    },
  );
  assert.ok(rejected > 0);
});
