// Per-frame compression for wire v1: the records section becomes raw deflate (RFC 1951),
// WIRE_FLAG_COMPRESSED is set and rawBytes carries the uncompressed length. Each frame is
// self-describing, so a v1 receiver or relay needs no flag to read it (the Python tool corrupted
// the output when the two ends' --rate-control flags differed). Layout: docs/wire-format.md.

import { constants as zc, deflateRawSync } from 'node:zlib';
import {
  WIRE_DEFAULT_MAX_RAW_BYTES,
  WIRE_FLAG_COMPRESSED,
  WireError,
  decodeFrame,
  encodeFrame,
  validateRecords,
  type Frame,
} from '@nflog-pipe/shared';
import { inflateCapped } from './inflate-capped.js';

/** Options of {@link compressFrame}. */
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
 * Compress one v1 frame: deflate its records section (raw deflate), set WIRE_FLAG_COMPRESSED
 * and rawBytes; header fields and metadata are kept.
 *
 * Returns `frame` itself (same Buffer, not a copy) when it is already compressed, or when
 * deflate would not make the records section smaller (random payloads, empty heartbeats): the
 * receiver reads both, and a larger "compressed" frame would only cost bandwidth.
 *
 * @param frame one encoded v1 frame
 * @returns a v1 frame, never pooled memory (safe to hand to zeromq.js send())
 * @throws WireError from decodeFrame when `frame` is not a valid v1 frame
 */
export function compressFrame(frame: Buffer, options: CompressFrameOptions = {}): Buffer {
  const f = decodeFrame(frame, { maxRawBytes: 0xffffffff });
  if (f.compressed) return frame;
  const deflated = deflateRawSync(f.records, { level: options.level ?? zc.Z_DEFAULT_COMPRESSION });
  if (deflated.length >= f.records.length) return frame;
  return encodeFrame(
    {
      linktype: f.linktype,
      senderId: f.senderId,
      firstSeq: f.firstSeq,
      count: f.count,
      flags: f.flags | WIRE_FLAG_COMPRESSED,
      rawBytes: f.records.length,
      ...(f.meta !== undefined ? { meta: f.meta } : {}),
    },
    deflated,
  );
}

/**
 * Inflate the records of a decoded compressed frame, capped: never allocates more than
 * `frame.rawBytes` however the stream would inflate, then checks the result
 * against rawBytes and the record count.
 *
 * @returns the uncompressed records section (fresh memory)
 * @throws WireError ERR_WIRE_INFLATE (not a valid raw deflate stream), ERR_WIRE_OVERSIZE (would
 *   inflate past rawBytes: a zip bomb or a lying header), ERR_WIRE_LENGTH_MISMATCH (inflates to
 *   fewer than rawBytes), and validateRecords' codes
 */
export function inflateFrameRecords(frame: Frame): Buffer {
  // Capped at rawBytes (itself capped by decodeFrame's maxRawBytes): a bomb costs at most that.
  const records = inflateCapped('raw', frame.records, frame.rawBytes, 'frame records');
  if (records.length !== frame.rawBytes) {
    throw new WireError(
      'ERR_WIRE_LENGTH_MISMATCH',
      `records inflate to ${records.length} bytes, header says ${frame.rawBytes}`,
    );
  }
  validateRecords(records, frame.count);
  return records;
}

/**
 * Turn a compressed v1 frame back into the uncompressed frame (WIRE_FLAG_COMPRESSED cleared,
 * same header fields and metadata), as the decompress relay forwards it and the receiver decodes
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
    },
    records,
  );
}
