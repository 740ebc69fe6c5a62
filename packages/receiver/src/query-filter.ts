import { PCAP_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from '@nflog-pipe/pcap-writer';
import { prefixContains } from './address.js';
import { packetFields } from './packet-fields.js';
import type { QueryFilter } from './query-request.js';
import type { RingBatch } from './ring-buffer.js';

/** How the records in the ring are encoded. */
export interface RecordFormat {
  /** pcap linktype of every record (filters on addresses/ports understand 101 and 239). */
  linktype: number;
  /** True when ts_frac is nanoseconds (else microseconds). */
  nanosecond: boolean;
}

/** The records a query selected. */
export interface Selection {
  /** Records sections in stream order: ring views where a whole batch matched, else copies. */
  parts: Buffer[];
  /** Records selected. */
  packets: number;
  /** Bytes of `parts` together. */
  bytes: number;
}

/** True when the filter looks inside records (anything beyond a byte limit). */
export function filtersRecords(filter: QueryFilter): boolean {
  return (
    filter.sinceUs !== undefined ||
    filter.untilUs !== undefined ||
    filter.host !== undefined ||
    filter.net !== undefined ||
    filter.port !== undefined ||
    filter.protos !== undefined
  );
}

function matches(
  filter: QueryFilter,
  rec: Buffer,
  offset: number,
  inclLen: number,
  format: RecordFormat,
): boolean {
  if (filter.sinceUs !== undefined || filter.untilUs !== undefined) {
    const frac = rec.readUInt32LE(offset + 4);
    const tsUs =
      rec.readUInt32LE(offset) * 1e6 + (format.nanosecond ? Math.floor(frac / 1000) : frac);
    if (filter.sinceUs !== undefined && tsUs < filter.sinceUs) return false;
    if (filter.untilUs !== undefined && tsUs >= filter.untilUs) return false;
  }
  if (
    filter.host === undefined &&
    filter.net === undefined &&
    filter.port === undefined &&
    filter.protos === undefined
  ) {
    return true;
  }
  const dataStart = offset + PCAP_RECORD_HEADER_BYTES;
  const fields = packetFields(rec.subarray(dataStart, dataStart + inclLen), format.linktype);
  if (fields === null) return false;
  if (
    filter.host &&
    !prefixContains(filter.host, fields.src) &&
    !prefixContains(filter.host, fields.dst)
  )
    return false;
  if (
    filter.net &&
    !prefixContains(filter.net, fields.src) &&
    !prefixContains(filter.net, fields.dst)
  )
    return false;
  if (filter.protos && !filter.protos.includes(fields.proto)) return false;
  if (filter.port !== undefined && fields.srcPort !== filter.port && fields.dstPort !== filter.port)
    return false;
  return true;
}

function filterBatch(
  filter: QueryFilter,
  batch: RingBatch,
  format: RecordFormat,
): { part: Buffer; count: number } | null {
  const rec = batch.records;
  const keep: number[] = []; // [start, end) pairs of matching records
  let bytes = 0;
  let offset = 0;
  while (offset < rec.length) {
    const inclLen = rec.readUInt32LE(offset + 8);
    const end = offset + PCAP_RECORD_HEADER_BYTES + inclLen;
    if (matches(filter, rec, offset, inclLen, format)) {
      keep.push(offset, end);
      bytes += end - offset;
    }
    offset = end;
  }
  const count = keep.length / 2;
  if (count === 0) return null;
  if (count === batch.count) return { part: rec, count }; // whole batch: share, do not copy
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = 0; i < keep.length; i += 2) at += rec.copy(out, at, keep[i], keep[i + 1]);
  return { part: out, count };
}

function countIn(rec: Buffer): number {
  let n = 0;
  for (let offset = 0; offset < rec.length; n++)
    offset += PCAP_RECORD_HEADER_BYTES + rec.readUInt32LE(offset + 8);
  return n;
}

/**
 * Select the records a query asks for from a ring snapshot. Without record filters the
 * selection is the ring's own buffers (zero copy); a batch where only some records match is
 * copied once. `maxBytes` then keeps the newest records so that a 24-byte pcap header plus the
 * records fit, cutting the oldest kept part at a record boundary (a view, no copy).
 *
 * @param batches a {@link RingBuffer.snapshot}, oldest first
 * @param filter the parsed request; null selects everything
 * @param format linktype and timestamp resolution of the records
 */
export function selectRecords(
  batches: readonly RingBatch[],
  filter: QueryFilter | null,
  format: RecordFormat,
): Selection {
  let parts: Buffer[] = [];
  let counts: number[] = [];
  if (filter === null || !filtersRecords(filter)) {
    for (const b of batches) {
      parts.push(b.records);
      counts.push(b.count);
    }
  } else {
    for (const b of batches) {
      const kept = filterBatch(filter, b, format);
      if (kept) {
        parts.push(kept.part);
        counts.push(kept.count);
      }
    }
  }
  if (filter?.maxBytes !== undefined) {
    let room = Math.max(0, filter.maxBytes - PCAP_HEADER_BYTES);
    let first = parts.length;
    while (first > 0 && parts[first - 1]!.length <= room) {
      first--;
      room -= parts[first]!.length;
    }
    const kept = parts.slice(first);
    const keptCounts = counts.slice(first);
    const partial = first > 0 ? parts[first - 1]! : null;
    if (partial && room > 0) {
      // Newest records of the crossing part: skip from its start until the rest fits.
      let offset = 0;
      while (partial.length - offset > room)
        offset += PCAP_RECORD_HEADER_BYTES + partial.readUInt32LE(offset + 8);
      if (offset < partial.length) {
        const tail = partial.subarray(offset);
        kept.unshift(tail);
        keptCounts.unshift(countIn(tail));
      }
    }
    parts = kept;
    counts = keptCounts;
  }
  let packets = 0;
  let bytes = 0;
  for (let i = 0; i < parts.length; i++) {
    packets += counts[i]!;
    bytes += parts[i]!.length;
  }
  return { parts, packets, bytes };
}
