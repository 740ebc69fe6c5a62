// Per-frame compression for wire v1: the records section becomes raw deflate (RFC 1951),
// WIRE_FLAG_COMPRESSED is set and rawBytes carries the uncompressed length. Each frame is
// self-describing, so a v1 receiver or relay needs no flag to read it (the Python tool corrupted
// the output when the two ends' --rate-control flags differed). Layout: docs/wire-format.md.

import type * as Zlib from 'node:zlib';
import {
  WIRE_DEFAULT_MAX_RAW_BYTES,
  WIRE_FLAG_COMPRESSED,
  WireError,
  decodeFrame,
  encodeFrame,
  validateRecords,
  type Frame,
  type FrameFields,
  type ValidateRecordsOptions,
  lazyRequire,
} from '@nflog-pipe/shared';
import { inflateCapped } from './inflate-capped.js';

// zlib is loaded at the first use, not at import (shared's lazyRequire): a sender without
// --rate-control never needs it.
const zlib = lazyRequire<typeof Zlib>(import.meta.url, 'node:zlib');

/** Options of {@link compressFrame} and {@link encodeCompressedFrame}. */
export interface CompressFrameOptions {
  /** zlib level 0..9 (Z_DEFAULT_COMPRESSION, i.e. 6, by default, like Python's zlib). */
  level?: number;
}

/** Options of {@link inflateFrame}. */
export interface InflateFrameOptions {
  /**
   * Cap on the inflated records section, bytes (default WIRE_DEFAULT_MAX_RAW_BYTES, 64 MiB).
   * A frame whose header claims more is rejected before inflating.
   */
  maxRawBytes?: number;
}

/**
 * Deflates `records` (a plain records section) and encodes the compressed frame of `fields`
 * around it; null when deflate would not make the section smaller (random payloads), so the
 * caller sends the plain frame it has or builds it. One deflate, at most one encodeFrame.
 */
function encodeDeflated(fields: FrameFields, records: Buffer, level: number): Buffer | null {
  const deflated = zlib().deflateRawSync(records, { level });
  if (deflated.length >= records.length) return null;
  return encodeFrame(
    {
      linktype: fields.linktype,
      senderId: fields.senderId,
      firstSeq: fields.firstSeq,
      count: fields.count,
      flags: (fields.flags ?? 0) | WIRE_FLAG_COMPRESSED,
      rawBytes: records.length,
      ...(fields.meta !== undefined ? { meta: fields.meta } : {}),
      ...(fields.order !== undefined ? { order: fields.order } : {}),
    },
    deflated,
  );
}

/** Options of {@link encodeCompressedFrame}. */
export interface EncodeCompressedFrameOptions extends CompressFrameOptions {
  /**
   * The same frame already encoded plain (a relay's input): returned as it is when deflate
   * would not make the records smaller, instead of being encoded again.
   */
  plain?: Buffer;
}

/**
 * Build one compressed v1 frame straight from its header fields and plain pcap records, as a
 * sender does with a batch: the records are deflated once and the frame is encoded once (never
 * encoded plain, decoded and encoded again). When deflate would not make the records smaller
 * (random payloads, empty heartbeats), the plain frame is returned instead (`options.plain`, or
 * built once): the receiver reads both, and a larger "compressed" frame would only cost bandwidth.
 *
 * @param fields header fields of the plain frame (`flags` without WIRE_FLAG_COMPRESSED); a
 *   decoded uncompressed `Frame` will do
 * @param records the plain records section, or its consecutive pieces (joined once to deflate)
 * @returns a v1 frame, never pooled memory (safe to hand to zeromq.js send()) unless it is
 *   `options.plain`
 * @throws WireError from encodeFrame for a field out of range
 */
export function encodeCompressedFrame(
  fields: FrameFields,
  records: Buffer | readonly Buffer[],
  options: EncodeCompressedFrameOptions = {},
): Buffer {
  const plain = Buffer.isBuffer(records)
    ? records
    : records.length === 1
      ? records[0]!
      : Buffer.concat(records);
  return (
    encodeDeflated(fields, plain, options.level ?? zlib().constants.Z_DEFAULT_COMPRESSION) ??
    options.plain ??
    encodeFrame(fields, records)
  );
}

/**
 * Compress one encoded v1 frame: deflate its records section (raw deflate), set
 * WIRE_FLAG_COMPRESSED and rawBytes; header fields, metadata and the kernel-order section are
 * kept. The frame is decoded
 * once; whoever builds frames should call {@link encodeCompressedFrame} instead, and whoever
 * shapes them `shapeFrame`.
 *
 * Returns `frame` itself (same Buffer, not a copy) when it is already compressed, or when
 * deflate would not make the records section smaller (random payloads, empty heartbeats).
 *
 * @param frame one encoded v1 frame
 * @returns a v1 frame (safe to hand to zeromq.js send() when `frame` is)
 * @throws WireError from decodeFrame when `frame` is not a valid v1 frame
 */
export function compressFrame(frame: Buffer, options: CompressFrameOptions = {}): Buffer {
  const f = decodeFrame(frame, { maxRawBytes: 0xffffffff });
  if (f.compressed) return frame;
  return encodeCompressedFrame(f, f.records, { ...options, plain: frame });
}

/**
 * Inflate the records of a decoded compressed frame, capped: never allocates more than
 * `frame.rawBytes` however the stream would inflate, then checks the result
 * against rawBytes and the record count (one walk, with the frame's linktype's shortest
 * record, which with `options.nanosecond` also converts the timestamps, as decodeFrame does for
 * an uncompressed frame).
 *
 * @returns the uncompressed records section (fresh memory): `frame.count` whole records
 * @throws WireError ERR_WIRE_INFLATE (not a valid raw deflate stream), ERR_WIRE_OVERSIZE (would
 *   inflate past rawBytes: a zip bomb or a lying header), ERR_WIRE_LENGTH_MISMATCH (inflates to
 *   fewer than rawBytes), and validateRecords' codes
 */
export function inflateFrameRecords(
  frame: Frame,
  options: Omit<ValidateRecordsOptions, 'linktype'> = {},
): Buffer {
  // Capped at rawBytes (itself capped by decodeFrame's maxRawBytes): a bomb costs at most that.
  const records = inflateCapped('raw', frame.records, frame.rawBytes, 'frame records');
  if (records.length !== frame.rawBytes) {
    throw new WireError(
      'ERR_WIRE_LENGTH_MISMATCH',
      `records inflate to ${records.length} bytes, header says ${frame.rawBytes}`,
    );
  }
  validateRecords(records, frame.count, { ...options, linktype: frame.linktype });
  return records;
}

/**
 * Turn a compressed v1 frame back into the uncompressed frame (WIRE_FLAG_COMPRESSED cleared,
 * same header fields, metadata and kernel-order section), as the decompress relay forwards it and the receiver decodes
 * it with decodeFrame. An uncompressed frame is validated and returned as is (same Buffer).
 *
 * @param frame one encoded v1 frame
 * @param options `maxRawBytes` cap on the inflated records section (bytes, default 64 MiB)
 * @returns a valid uncompressed v1 frame
 * @throws WireError decodeFrame's codes (ERR_WIRE_OVERSIZE when rawBytes exceeds the cap), and
 *   those of {@link inflateFrameRecords}
 */
export function inflateFrame(frame: Buffer, options: InflateFrameOptions = {}): Buffer {
  const f = decodeFrame(frame, { maxRawBytes: options.maxRawBytes ?? WIRE_DEFAULT_MAX_RAW_BYTES });
  if (!f.compressed) return frame;
  const records = inflateFrameRecords(f);
  return encodeFrame(
    {
      linktype: f.linktype,
      senderId: f.senderId,
      firstSeq: f.firstSeq,
      count: f.count,
      flags: f.flags & ~WIRE_FLAG_COMPRESSED,
      ...(f.meta !== undefined ? { meta: f.meta } : {}),
      ...(f.order !== undefined ? { order: f.order } : {}),
    },
    records,
  );
}
