// The one walk over a records section (pcap records back to back: a 16-byte header, then
// incl_len bytes). Every walk in the project (counting, checking a wire frame, converting to
// nanoseconds, splitting, filtering, trimming, accounting for what a FIFO reader got) steps
// with recordEnd(), directly where it is hot or through RecordCursor where it reads fields, so
// the layout and its bounds checks live here once. A step reads one length field and allocates
// nothing.
//
// Why a function and a cursor, not just the cursor: a cursor's state lives in an object, and
// V8 keeps it in memory rather than in registers, which costs a hot loop such as the frame
// decoder's check about 10-15% (measured); recordEnd() keeps the walk's state in the caller's
// locals. (The cursor's big-endian step repeats recordEnd's three lines rather than giving
// recordEnd a byte-order argument.)

import { PcapFormatError } from './errors.js';

// The numbers of the records layout live here, not in constants.ts, and the code below uses
// private copies of them: an exported or imported binding is a load with a check at every use
// (V8 keeps it in a cell), which costs these loops about 15% (measured); a module-private
// const is folded in.
const HEADER_BYTES = 16;
const MAX_CONVERTIBLE_USEC = Math.floor(0xffffffff / 1000);
const SHORT_HEADER = -1;
const SHORT_DATA = -2;

/** Size of the header in front of every packet record (pcap-savefile(5)), in bytes. */
export const PCAP_RECORD_HEADER_BYTES = HEADER_BYTES;

/**
 * Largest ts_usec that can be written as nanoseconds (× 1000 still fits the u32 field): 4294967.
 * A larger value cannot be a microsecond count; converting refuses it.
 */
export const PCAP_MAX_CONVERTIBLE_USEC = MAX_CONVERTIBLE_USEC;

/** {@link RecordCursor.next}: the section ended exactly on a record boundary. */
export const RECORD_END = 0;
/** {@link RecordCursor.next}: a whole record lies at `offset..end`. */
export const RECORD_OK = 1;
/** A fault: fewer than 16 bytes are left for the next record header. */
export const RECORD_SHORT_HEADER = SHORT_HEADER;
/** A fault: the next record's data runs past the end. */
export const RECORD_SHORT_DATA = SHORT_DATA;

/** What one {@link RecordCursor.next} found. Faults are negative. */
export type RecordStep =
  typeof RECORD_END | typeof RECORD_OK | typeof RECORD_SHORT_HEADER | typeof RECORD_SHORT_DATA;

/** A fault {@link recordEnd} reports: the record does not fit. */
export type RecordFault = typeof RECORD_SHORT_HEADER | typeof RECORD_SHORT_DATA;

function u32(buf: Buffer, at: number, littleEndian: boolean): number {
  return littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

/**
 * Where the little-endian record (what we write) whose header starts at `offset` ends: the
 * offset just past its header and its incl_len bytes of data, which is where the next record
 * starts. Checks both against `limit` before anything is used. (Big-endian headers, found only
 * in other tools' pcap files, are walked with a RecordCursor.)
 *
 * ```ts
 * for (let offset = 0, end; offset < records.length; offset = end) {
 *   end = recordEnd(records, offset);
 *   if (end < 0) throw recordFaultError(records, offset);
 *   use(offset, end);
 * }
 * ```
 *
 * @param records the buffer holding the section
 * @param offset where the record's header starts (< limit)
 * @param limit offset just past the section (at most `records.length`). Default `records.length`.
 * @returns the end offset (> offset), or a negative fault: RECORD_SHORT_HEADER, RECORD_SHORT_DATA
 */
export function recordEnd(records: Buffer, offset: number, limit = records.length): number {
  const left = limit - offset;
  if (left < HEADER_BYTES) return SHORT_HEADER;
  const inclLen = records.readUInt32LE(offset + 8);
  if (inclLen > left - HEADER_BYTES) return SHORT_DATA;
  return offset + HEADER_BYTES + inclLen;
}

/** {@link recordEnd} for either byte order (the cursor's step). */
function recordEndIn(
  records: Buffer,
  offset: number,
  limit: number,
  littleEndian: boolean,
): number {
  if (littleEndian) return recordEnd(records, offset, limit);
  const left = limit - offset;
  if (left < HEADER_BYTES) return SHORT_HEADER;
  const inclLen = records.readUInt32BE(offset + 8);
  if (inclLen > left - HEADER_BYTES) return SHORT_DATA;
  return offset + HEADER_BYTES + inclLen;
}

/**
 * The PcapFormatError (`ERR_PCAP_TRUNCATED`, with `offset`) saying why the record at `offset`
 * does not fit before `limit` (a fault of {@link recordEnd}).
 */
export function recordFaultError(
  records: Buffer,
  offset: number,
  limit = records.length,
  littleEndian = true,
): PcapFormatError {
  const left = limit - offset;
  const message =
    left < HEADER_BYTES
      ? `pcap record header at offset ${offset} needs ${HEADER_BYTES} bytes, ${left} left`
      : `pcap record at offset ${offset} has incl_len ${u32(records, offset + 8, littleEndian)}, only ${left - HEADER_BYTES} bytes left`;
  return new PcapFormatError('ERR_PCAP_TRUNCATED', message, offset);
}

/**
 * Rewrite the ts_usec of the (little-endian) record at `offset` as nanoseconds (× 1000), in
 * place.
 *
 * @returns false, changing nothing, when the value cannot be microseconds (× 1000 would not fit
 *   the u32 field: above PCAP_MAX_CONVERTIBLE_USEC)
 */
export function recordToNanosecond(records: Buffer, offset: number): boolean {
  const usec = records.readUInt32LE(offset + 4);
  if (usec > MAX_CONVERTIBLE_USEC) return false;
  records.writeUInt32LE(usec * 1000, offset + 4);
  return true;
}

/**
 * Steps over the records of `records[start, limit)` with {@link recordEnd}, one per
 * {@link next}, for walks that read the records' fields. After `RECORD_OK` the current record
 * is `records[offset, end)`; the walk never advances past a fault (`next()` keeps returning
 * it), so a loop over a damaged section always ends.
 *
 * ```ts
 * const c = new RecordCursor(records);
 * let step;
 * while ((step = c.next()) === RECORD_OK) use(c.offset, c.inclLen, c.tsSec);
 * if (step !== RECORD_END) throw c.error();
 * ```
 */
export class RecordCursor {
  readonly #buf: Buffer;
  readonly #limit: number;
  readonly #le: boolean;
  #offset: number;
  #end: number;
  #inclLen = 0;
  #count = 0;

  /**
   * @param records the buffer holding the section
   * @param start offset of the first record header. Default 0.
   * @param limit offset just past the section; records must end at or before it. Default
   *   `records.length`.
   * @param littleEndian byte order of the record headers. Default true.
   */
  constructor(records: Buffer, start = 0, limit = records.length, littleEndian = true) {
    this.#buf = records;
    this.#limit = Math.min(limit, records.length);
    this.#le = littleEndian;
    this.#offset = start;
    this.#end = start;
  }

  /**
   * Step to the next record.
   *
   * @returns `RECORD_OK` (a whole record at `offset..end`), `RECORD_END` (no bytes left), or a
   *   fault: `RECORD_SHORT_HEADER`, `RECORD_SHORT_DATA` (`offset` and `inclLen` describe the
   *   record that does not fit). A fault is returned again by every later call.
   */
  next(): RecordStep {
    const offset = this.#end;
    this.#offset = offset;
    if (offset >= this.#limit) return RECORD_END;
    const end = recordEndIn(this.#buf, offset, this.#limit, this.#le);
    if (end < 0) {
      this.#inclLen = end === SHORT_DATA ? u32(this.#buf, offset + 8, this.#le) : 0;
      return end as RecordFault;
    }
    this.#inclLen = end - offset - HEADER_BYTES;
    this.#end = end;
    this.#count++;
    return RECORD_OK;
  }

  /** Offset of the current record's header (after a fault: of the record that does not fit). */
  get offset(): number {
    return this.#offset;
  }

  /** Offset just past the last whole record: where the next one starts. */
  get end(): number {
    return this.#end;
  }

  /** Offset just past the section: records must end at or before it. */
  get limit(): number {
    return this.#limit;
  }

  /** Whole records stepped over so far. */
  get count(): number {
    return this.#count;
  }

  /** incl_len of the current record: bytes of data after its header (0 for a short header). */
  get inclLen(): number {
    return this.#inclLen;
  }

  /** Offset of the current record's data. */
  get dataStart(): number {
    return this.#offset + HEADER_BYTES;
  }

  /** ts_sec of the current record. */
  get tsSec(): number {
    return u32(this.#buf, this.#offset, this.#le);
  }

  /** ts_usec or ts_nsec of the current record. */
  get tsFrac(): number {
    return u32(this.#buf, this.#offset + 4, this.#le);
  }

  /** orig_len of the current record. */
  get origLen(): number {
    return u32(this.#buf, this.#offset + 12, this.#le);
  }

  /** The current record's data: a view into the buffer, not a copy (this one allocates). */
  data(): Buffer {
    return this.#buf.subarray(this.#offset + HEADER_BYTES, this.#end);
  }

  /** The PcapFormatError (`ERR_PCAP_TRUNCATED`, with `offset`) describing the current fault. */
  error(): PcapFormatError {
    return recordFaultError(this.#buf, this.#offset, this.#limit, this.#le);
  }
}
