// Proves v1 per-frame compression round-trips byte-exactly, that building a compressed frame from its fields gives the same bytes as compressing the plain one, and that inflation is capped and strict.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import {
  WIRE_FLAG_COMPRESSED,
  WIRE_FLAG_KERNEL_ORDER,
  decodeFrame,
  encodeFrame,
} from '@nflog-pipe/shared';
import { compressFrame, encodeCompressedFrame, inflateFrame } from '../src/index.js';
import { makeFrame, makeRecords, textPayload } from './helpers.js';

test('compressFrame deflates the records, sets the flag and rawBytes, keeps every header field', () => {
  const payloads = Array.from({ length: 20 }, (_, i) => textPayload(i, 300));
  const meta = Buffer.from('{"host":"gw1"}');
  const frame = makeFrame(payloads, 77n, meta);
  const packed = compressFrame(frame);
  const f = decodeFrame(packed);
  const orig = decodeFrame(frame);
  assert.equal(f.compressed, true);
  assert.equal(f.flags, orig.flags | WIRE_FLAG_COMPRESSED);
  assert.equal(f.rawBytes, orig.recordsBytes);
  assert.deepEqual(f.records, deflateRawSync(orig.records));
  assert.equal(f.count, 20);
  assert.equal(f.firstSeq, 77n);
  assert.equal(f.senderId, orig.senderId);
  assert.equal(f.linktype, 101);
  assert.deepEqual(f.meta, meta);
  assert.ok(packed.length < frame.length / 4, `${packed.length} vs ${frame.length}`);
  // Back to the very same bytes.
  assert.deepEqual(inflateFrame(packed), frame);
});

test('the kernel-order section survives compress and decompress (and the relays that use them) byte for byte', () => {
  const payloads = Array.from({ length: 20 }, (_, i) => textPayload(i, 300));
  const plain = decodeFrame(makeFrame(payloads, 5n));
  const seqGlobal = Buffer.alloc(20 * 4);
  for (let i = 0; i < 20; i++) seqGlobal.writeUInt32LE(1000 + 2 * i, i * 4);
  const order = { namespaceId: Buffer.alloc(24, 7), delayBoundMs: 80, seqGlobal };
  const frame = encodeFrame({ ...plain, flags: 0, order }, plain.records);
  const packed = compressFrame(frame);
  const f = decodeFrame(packed);
  assert.equal(f.flags, WIRE_FLAG_COMPRESSED | WIRE_FLAG_KERNEL_ORDER);
  assert.deepEqual(f.order, order);
  assert.deepEqual(inflateFrame(packed), frame);
  assert.deepEqual(encodeCompressedFrame({ ...plain, flags: 0, order }, plain.records), packed);
});

test('compressFrame returns the frame itself when already compressed or when deflate would not shrink it', () => {
  const frame = makeFrame([textPayload(1, 1000)]);
  const packed = compressFrame(frame);
  assert.equal(compressFrame(packed), packed);
  const heartbeat = makeFrame([]);
  assert.equal(compressFrame(heartbeat), heartbeat);
  const random = makeFrame([
    Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 167 + 13) % 251)),
  ]);
  assert.equal(compressFrame(random), random);
  // An uncompressed frame goes through inflateFrame untouched.
  assert.equal(inflateFrame(frame), frame);
});

test('encodeCompressedFrame builds from fields and record pieces exactly what compressFrame makes of the plain frame', () => {
  const fields = {
    linktype: 239,
    senderId: 0xfeedfacecafebeefn,
    firstSeq: 1234n,
    count: 6,
    meta: Buffer.from('{"pid":1}'),
  };
  const pieces = [
    makeRecords([textPayload(0, 500), textPayload(1, 20)]),
    makeRecords([textPayload(2, 700)]),
    makeRecords([textPayload(3, 4), textPayload(4, 900), textPayload(5, 64)]),
  ];
  const plain = encodeFrame(fields, pieces);
  for (const records of [pieces, [Buffer.concat(pieces)], Buffer.concat(pieces)]) {
    const built = encodeCompressedFrame(fields, records);
    assert.deepEqual(built, compressFrame(plain));
    assert.equal(decodeFrame(built).compressed, true);
    assert.deepEqual(inflateFrame(built), plain);
  }
  assert.deepEqual(
    encodeCompressedFrame(fields, pieces, { level: 1 }),
    compressFrame(plain, { level: 1 }),
  );
});

test('encodeCompressedFrame builds the plain frame when deflate would not shrink the records, or returns the given one', () => {
  const random = makeRecords([
    Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 167 + 13) % 251)),
  ]);
  const fields = { linktype: 101, senderId: 5n, firstSeq: 9n, count: 1 };
  const plain = encodeFrame(fields, random);
  const built = encodeCompressedFrame(fields, [random]);
  assert.deepEqual(built, plain);
  assert.equal(decodeFrame(built).compressed, false);
  assert.equal(encodeCompressedFrame(fields, random, { plain }), plain);
});

test('compressFrame rejects what is not a v1 frame', () => {
  assert.throws(() => compressFrame(Buffer.from('not a frame at all, certainly not NFPZ')), {
    code: 'ERR_WIRE_BAD_MAGIC',
  });
});

/** A compressed frame with arbitrary deflate bytes and header claims. */
function forged(records: Buffer, count: number, rawBytes: number): Buffer {
  return encodeFrame(
    { linktype: 101, senderId: 1n, firstSeq: 0n, count, flags: WIRE_FLAG_COMPRESSED, rawBytes },
    records,
  );
}

test('every malformed compressed frame gets its own WireError code', () => {
  const raw = makeRecords([textPayload(0, 100), textPayload(1, 100)]); // 232 bytes
  const good = deflateRawSync(raw);
  const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024)); // ~50 KiB that inflates to 50 MiB
  const cases: Array<[string, Buffer, string, number?]> = [
    [
      'corrupt deflate',
      forged(Buffer.from([0xff, 0xff, 0xff, 0xff]), 2, raw.length),
      'ERR_WIRE_INFLATE',
    ],
    [
      'truncated deflate',
      forged(good.subarray(0, good.length - 4), 2, raw.length),
      'ERR_WIRE_INFLATE',
    ],
    [
      'bytes after the stream',
      forged(Buffer.concat([good, Buffer.from([0])]), 2, raw.length),
      'ERR_WIRE_LENGTH_MISMATCH',
    ],
    ['inflates short of rawBytes', forged(good, 2, raw.length + 16), 'ERR_WIRE_LENGTH_MISMATCH'],
    ['inflates past rawBytes', forged(good, 2, raw.length - 1), 'ERR_WIRE_OVERSIZE'],
    ['zip bomb under a small rawBytes', forged(bomb, 1, 4096), 'ERR_WIRE_OVERSIZE'],
    [
      'zip bomb claiming its size, above the cap',
      forged(bomb, 1, 50 * 1024 * 1024),
      'ERR_WIRE_OVERSIZE',
      1024 * 1024,
    ],
    ['count disagrees with the records', forged(good, 3, raw.length), 'ERR_WIRE_COUNT_MISMATCH'],
  ];
  for (const [what, frame, code, maxRawBytes] of cases) {
    assert.throws(
      () => inflateFrame(frame, maxRawBytes === undefined ? {} : { maxRawBytes }),
      { code },
      what,
    );
  }
  assert.deepEqual(decodeFrame(inflateFrame(forged(good, 2, raw.length))).records, raw);
});
