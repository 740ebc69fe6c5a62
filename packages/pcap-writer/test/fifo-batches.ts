// Record batches and their whole-record count, shared by the FIFO accounting tests (not a test file itself).
import { RECORD_OK, RecordCursor, encodeRecords } from '../src/index.js';

/** `count` records; record i of batch `seed` has `size + (i % 7)` bytes, so sizes vary. */
export function batch(seed: number, count: number, size: number): Buffer {
  return encodeRecords(
    Array.from({ length: count }, (_, i) => ({
      tsSec: 1700000000 + seed,
      tsFrac: i,
      data: Buffer.alloc(size + (i % 7), (seed * 31 + i) & 0xff),
    })),
  );
}

/** Whole records at the start of a records section and their bytes. */
export function wholeRecords(records: Buffer): { count: number; bytes: number } {
  const c = new RecordCursor(records);
  while (c.next() === RECORD_OK);
  return { count: c.count, bytes: c.end };
}
