import {
  PCAP_RECORD_HEADER_BYTES,
  RECORD_END,
  RECORD_OK,
  RecordCursor,
  recordEnd,
  recordFaultError,
  recordToNanosecond,
  type RecordStep,
} from './record-walk.js';

/**
 * One packet record of a pcap stream.
 *
 * `tsFrac` is microseconds or nanoseconds, whichever the stream's header says. `data` is a view
 * into the buffer the record was read from (not a copy): it stays valid as long as that buffer
 * is not reused.
 */
export interface PcapRecord {
  /** Seconds since the Unix epoch (UTC). */
  tsSec: number;
  /** Fraction of the second: microseconds (0..999999) or nanoseconds (0..999999999). */
  tsFrac: number;
  /** Bytes of the packet stored in the record (`data.length`). */
  inclLen: number;
  /** Length of the packet on the wire, in bytes; larger than `inclLen` when it was truncated. */
  origLen: number;
  /** The captured packet bytes; a view into the source buffer. */
  data: Buffer;
}

/** A packet to encode with {@link encodeRecords}. */
export interface PcapPacket {
  /** Seconds since the Unix epoch (UTC). */
  tsSec: number;
  /** Fraction of the second, in the stream's resolution (usec or nsec). */
  tsFrac: number;
  /** Captured bytes; all of them are written. */
  data: Uint8Array;
  /** Length on the wire, in bytes. Default `data.length`. */
  origLen?: number;
}

/**
 * Write one 16-byte little-endian record header (pcap-savefile(5): ts_sec, ts_usec or ts_nsec,
 * incl_len, orig_len) into `buf` at `offset`.
 *
 * @returns the offset just past the header (`offset + 16`).
 * @throws RangeError if the header does not fit in `buf` or a value does not fit in uint32.
 */
export function writeRecordHeader(
  buf: Buffer,
  offset: number,
  tsSec: number,
  tsFrac: number,
  inclLen: number,
  origLen: number,
): number {
  buf.writeUInt32LE(tsSec, offset);
  buf.writeUInt32LE(tsFrac, offset + 4);
  buf.writeUInt32LE(inclLen, offset + 8);
  buf.writeUInt32LE(origLen, offset + 12);
  return offset + PCAP_RECORD_HEADER_BYTES;
}

/**
 * Encode packets as one contiguous buffer of pcap records (little-endian headers), the shape the
 * native addon produces and {@link PcapWriter.write} accepts.
 *
 * @throws RangeError if a timestamp or length does not fit an unsigned 32-bit field.
 */
export function encodeRecords(packets: readonly PcapPacket[]): Buffer {
  let total = 0;
  for (const p of packets) total += PCAP_RECORD_HEADER_BYTES + p.data.length;
  const buf = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const p of packets) {
    const len = p.data.length;
    offset = writeRecordHeader(buf, offset, p.tsSec, p.tsFrac, len, p.origLen ?? len);
    buf.set(p.data, offset);
    offset += len;
  }
  return buf;
}

/**
 * Walk a records section (pcap records back to back, no global header) and yield each record.
 * `data` is a view into `records`. Every length is checked before it is used; records before a
 * damaged one are yielded, then the generator throws. One object per record: for tests and
 * queries, not the packet path (that uses {@link RecordCursor}).
 *
 * @param littleEndian byte order of the record headers. Default true (what we write; a
 *   big-endian pcap file read by {@link readPcap} passes false).
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if a record header or its data runs past the end.
 */
export function iterateRecords(records: Buffer, littleEndian = true): Generator<PcapRecord> {
  return walkRecords(records, 0, littleEndian);
}

/** {@link iterateRecords} from `start` on, so error offsets count from the start of `records`. */
export function* walkRecords(
  records: Buffer,
  start: number,
  littleEndian: boolean,
): Generator<PcapRecord> {
  const c = new RecordCursor(records, start, records.length, littleEndian);
  let step: RecordStep;
  while ((step = c.next()) === RECORD_OK) {
    yield {
      tsSec: c.tsSec,
      tsFrac: c.tsFrac,
      inclLen: c.inclLen,
      origLen: c.origLen,
      data: c.data(),
    };
  }
  if (step !== RECORD_END) throw c.error();
}

/**
 * Count the records in a records section, checking that it holds whole records only. Cheap: it
 * reads one length per record and copies nothing.
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if the buffer does not end on a record boundary.
 */
export function countRecords(records: Buffer): number {
  let count = 0;
  for (let offset = 0, end; offset < records.length; offset = end, count++) {
    end = recordEnd(records, offset);
    if (end < 0) throw recordFaultError(records, offset);
  }
  return count;
}

/**
 * Convert a records section from microsecond to nanosecond timestamps (ts_frac × 1000), for a
 * stream opened with `nanosecond: true`. Returns a new buffer; the input is not modified. (The
 * receiver converts in the walk that validates each frame instead: `validateRecords` in
 * `@nflog-pipe/shared`.)
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if `records` does not hold whole records.
 * @throws RangeError if a ts_usec field is so large (> 4294967) that it cannot be a microsecond.
 */
export function recordsToNanosecond(records: Buffer): Buffer {
  // Copy, then convert in one walk; on a failure the half-converted copy never escapes. A
  // truncated section is reported as such even after a bad timestamp, so keep walking.
  const out = Buffer.from(records);
  let bad = '';
  for (let offset = 0, end; offset < out.length; offset = end) {
    end = recordEnd(out, offset);
    if (end < 0) throw recordFaultError(out, offset);
    if (!recordToNanosecond(out, offset) && bad === '') {
      bad = `ts_usec ${out.readUInt32LE(offset + 4)} at offset ${offset}`;
    }
  }
  if (bad !== '') throw new RangeError(`${bad} cannot be microseconds`);
  return out;
}
