/**
 * groupByShard: one read's records split by the shard their flow goes to, for a sender that
 * spreads flows over several receivers. The per-record work (a table lookup on the index entry's
 * flow hash, one copy of the record) is done in C in one call per read: no JS object, no native
 * call per packet (native/nl_shard.c).
 */
import { NflogError } from './errors.js';
import { native } from './native.js';
import { NFLOG_INDEX_ENTRY_BYTES } from './record-index.js';

/** Entries of a shard table: one per value of the flow hash's top 16 bits. */
export const NFLOG_SHARD_BUCKETS = 65536;

/** Most shards a table can name (its entries are bytes). */
export const NFLOG_MAX_SHARDS = 255;

/** The bucket of a flow hash in a shard table: its top 16 bits. */
export function shardBucket(flowHash: number): number {
  return flowHash >>> 16;
}

/**
 * Groups one read (`records` and its `index`, as NflogSocket delivers them) by shard: record `i`
 * goes to shard `table[shardBucket(flowHash_i)]`, and each shard keeps the records' order. The
 * returned Buffer holds every shard's records (shard 0 first), then every shard's index entries
 * in the same order, each entry's OFFSET counted from its shard's first record; `perShard[2s]`
 * gets the number of shard s's records and `perShard[2s + 1]` their bytes. So shard s's records
 * start at the sum of the bytes before it, its entries after all records at the sum of the counts
 * before it (times NFLOG_INDEX_ENTRY_BYTES).
 *
 * @param table NFLOG_SHARD_BUCKETS entries, each < shards
 * @param shards 1..NFLOG_MAX_SHARDS
 * @param perShard at least 2 × shards entries, overwritten (a caller reuses one per stream)
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for a bad table, shard count or perShard;
 *   ERR_NFLOG_BAD_INDEX when an index entry does not match the records or the table names a
 *   shard >= shards
 */
export function groupByShard(
  records: Buffer,
  index: Buffer,
  table: Uint8Array,
  shards: number,
  perShard: Uint32Array,
): Buffer {
  if (
    !(table instanceof Uint8Array) ||
    table.length !== NFLOG_SHARD_BUCKETS ||
    !Number.isInteger(shards) ||
    shards < 1 ||
    shards > NFLOG_MAX_SHARDS ||
    !(perShard instanceof Uint32Array) ||
    perShard.length < 2 * shards ||
    index.length % NFLOG_INDEX_ENTRY_BYTES !== 0
  )
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `groupByShard: a table of ${NFLOG_SHARD_BUCKETS}, 1..${NFLOG_MAX_SHARDS} shards, perShard of 2 per shard, whole index entries`,
    );
  try {
    return native().groupByShard(records, index, table, shards, perShard);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_NFLOG_BAD_INDEX')
      throw new NflogError('ERR_NFLOG_BAD_INDEX', (err as Error).message, { cause: err });
    throw err;
  }
}
