import { PCAP_RECORD_HEADER_BYTES } from './constants.js';
import { PcapFormatError } from './errors.js';

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
 * damaged one are yielded, then the generator throws.
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
  const end = records.length;
  let offset = start;
  while (offset < end) {
    if (end - offset < PCAP_RECORD_HEADER_BYTES) {
      throw new PcapFormatError(
        'ERR_PCAP_TRUNCATED',
        `pcap record header at offset ${offset} needs ${PCAP_RECORD_HEADER_BYTES} bytes, ${end - offset} left`,
        offset,
      );
    }
    const tsSec = littleEndian ? records.readUInt32LE(offset) : records.readUInt32BE(offset);
    const tsFrac = littleEndian
      ? records.readUInt32LE(offset + 4)
      : records.readUInt32BE(offset + 4);
    const inclLen = littleEndian
      ? records.readUInt32LE(offset + 8)
      : records.readUInt32BE(offset + 8);
    const origLen = littleEndian
      ? records.readUInt32LE(offset + 12)
      : records.readUInt32BE(offset + 12);
    const dataStart = offset + PCAP_RECORD_HEADER_BYTES;
    if (inclLen > end - dataStart) {
      throw new PcapFormatError(
        'ERR_PCAP_TRUNCATED',
        `pcap record at offset ${offset} has incl_len ${inclLen}, only ${end - dataStart} bytes left`,
        offset,
      );
    }
    offset = dataStart + inclLen;
    yield { tsSec, tsFrac, inclLen, origLen, data: records.subarray(dataStart, offset) };
  }
}

/**
 * Count the records in a records section, checking that it holds whole records only. Cheap: it
 * reads one length per record and copies nothing.
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if the buffer does not end on a record boundary.
 */
export function countRecords(records: Buffer): number {
  const end = records.length;
  let offset = 0;
  let count = 0;
  while (offset < end) {
    if (end - offset < PCAP_RECORD_HEADER_BYTES) {
      throw new PcapFormatError(
        'ERR_PCAP_TRUNCATED',
        `partial pcap record header at offset ${offset}`,
        offset,
      );
    }
    const inclLen = records.readUInt32LE(offset + 8);
    if (inclLen > end - offset - PCAP_RECORD_HEADER_BYTES) {
      throw new PcapFormatError(
        'ERR_PCAP_TRUNCATED',
        `pcap record at offset ${offset} runs past the end`,
        offset,
      );
    }
    offset += PCAP_RECORD_HEADER_BYTES + inclLen;
    count++;
  }
  return count;
}

/**
 * Convert a records section from microsecond to nanosecond timestamps (ts_frac × 1000), for a
 * stream opened with `nanosecond: true`. Returns a new buffer; the input is not modified.
 *
 * @throws PcapFormatError `ERR_PCAP_TRUNCATED` if `records` does not hold whole records.
 * @throws RangeError if a ts_usec field is so large (> 4294967) that it cannot be a microsecond.
 */
export function recordsToNanosecond(records: Buffer): Buffer {
  countRecords(records); // validate first so no half-converted copy escapes
  const out = Buffer.from(records);
  let offset = 0;
  while (offset < out.length) {
    // A valid usec (< 1e6) times 1000 is < 1e9 < 2^32, so it fits; a corrupt value above
    // 4294967 makes writeUInt32LE throw RangeError rather than wrap silently.
    out.writeUInt32LE(out.readUInt32LE(offset + 4) * 1000, offset + 4);
    offset += PCAP_RECORD_HEADER_BYTES + out.readUInt32LE(offset + 8);
  }
  return out;
}
