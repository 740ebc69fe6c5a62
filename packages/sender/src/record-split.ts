// Splitting a section of pcap records at record boundaries. Only called when a read from the
// kernel is larger than one frame may be, so the common path never walks the records.

import { RECORD_END, RecordCursor, type RecordStep } from '@nflog-pipe/pcap-writer';
import { SenderError } from './errors.js';

/** One piece of a records section: a view (not a copy) and the number of records in it. */
export interface RecordPiece {
  /** Whole pcap records, a subarray of the input. */
  records: Buffer;
  /** Number of records in `records`. */
  count: number;
}

/**
 * Cut a section of little-endian pcap records into pieces of at most `maxBytes` bytes and at
 * most `maxPackets` records, cutting only between records. A single record larger than
 * `maxBytes` becomes a piece of its own (it is never cut). Reads only the incl_len fields.
 *
 * @param records whole pcap records (16-byte LE headers, then incl_len bytes)
 * @param maxBytes largest piece in bytes (>= 1)
 * @param maxPackets largest piece in records (>= 1)
 * @returns the pieces in order; their counts add up to the records walked
 * @throws SenderError `ERR_SENDER_BAD_RECORDS` when a record runs past the end of `records`
 */
export function splitRecords(records: Buffer, maxBytes: number, maxPackets: number): RecordPiece[] {
  const pieces: RecordPiece[] = [];
  const c = new RecordCursor(records);
  let start = 0;
  let count = 0;
  let step: RecordStep;
  while ((step = c.next()) !== RECORD_END) {
    if (step < 0) throw badRecords(c.offset, records.length);
    // Close the current piece before this record would overflow it (never leave it empty).
    if (count > 0 && (c.end - start > maxBytes || count >= maxPackets)) {
      pieces.push({ records: records.subarray(start, c.offset), count });
      start = c.offset;
      count = 0;
    }
    count++;
  }
  if (count > 0) pieces.push({ records: records.subarray(start, c.end), count });
  return pieces;
}

function badRecords(offset: number, end: number): SenderError {
  return new SenderError(
    'ERR_SENDER_BAD_RECORDS',
    `pcap record at offset ${offset} runs past the end (${end} bytes)`,
  );
}
