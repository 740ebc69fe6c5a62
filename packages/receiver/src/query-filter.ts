// The receiver's side of a query: what a parsed request (the shared query protocol) selects
// from the ring, and the selection itself. Parsing and replies are @nflog-pipe/shared's
// (query-protocol.ts); the REP socket is query-server.ts.

import {
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
} from '@nflog-pipe/pcap-writer';
import { QUERY_PROTOCOLS, type QueryRequest } from '@nflog-pipe/shared';
import { parsePrefix, prefixContains, type AddressPrefix } from './address.js';
import { convertRecords } from './linktype-convert.js';
import { packetFields } from './packet-fields.js';
import type { RingBatch } from './ring-buffer.js';

/** What a request selects from the ring, ready to match records against. Absent fields do not narrow. */
export interface QueryFilter {
  /** Keep records with timestamp >= this, microseconds since the epoch (`lastMs` folded in). */
  sinceUs?: number;
  /** Keep records with timestamp < this, microseconds since the epoch. */
  untilUs?: number;
  /** Source or destination address inside this prefix (host = full-length prefix). */
  host?: AddressPrefix;
  /** Source or destination address inside this prefix. */
  net?: AddressPrefix;
  /** Source or destination TCP/UDP/SCTP port. */
  port?: number;
  /** Accepted upper-layer protocol numbers (`icmp` accepts ICMP and ICMPv6). */
  protos?: readonly number[];
  /** Most bytes of the reply pcap (24-byte header included); the newest records are kept. */
  maxBytes?: number;
  /** Linktype of the dump (101 or 239); absent: 239 if any selected record is 239, else 101. */
  linktype?: number;
}

/**
 * What a parsed request selects: `lastMs` becomes a `sinceUs` on the receiver's clock (with
 * both, the later bound wins), addresses become prefixes, a protocol name its numbers.
 *
 * @param request `parseQueryRequest()`'s result; null (the whole ring) gives null
 * @param nowMs the receiver's clock, ms since the epoch
 */
export function queryFilterFrom(request: QueryRequest | null, nowMs: number): QueryFilter | null {
  if (request === null) return null;
  const filter: QueryFilter = {};
  let sinceUs = request.sinceUs;
  if (request.lastMs !== undefined) {
    const fromLast = Math.max(0, (nowMs - request.lastMs) * 1000);
    sinceUs = sinceUs === undefined ? fromLast : Math.max(sinceUs, fromLast);
  }
  if (sinceUs !== undefined) filter.sinceUs = sinceUs;
  if (request.untilUs !== undefined) filter.untilUs = request.untilUs;
  // The protocol has checked both already; parsePrefix only turns them into bytes.
  const host = request.host === undefined ? null : parsePrefix(request.host);
  if (host) filter.host = host;
  const net = request.net === undefined ? null : parsePrefix(request.net);
  if (net) filter.net = net;
  if (request.port !== undefined) filter.port = request.port;
  if (request.proto !== undefined) {
    filter.protos =
      typeof request.proto === 'number' ? [request.proto] : QUERY_PROTOCOLS[request.proto];
  }
  if (request.maxBytes !== undefined) filter.maxBytes = request.maxBytes;
  if (request.linktype !== undefined) filter.linktype = request.linktype;
  return filter;
}

/**
 * How the ring's records are encoded beyond their linktype (each batch carries its own): the
 * timestamp resolution. Filters on addresses and ports understand linktypes 101 and 239.
 */
export interface RecordFormat {
  /** Timestamps are nanoseconds (else microseconds). */
  nanosecond: boolean;
}

/** The records a query selected. */
export interface Selection {
  /**
   * Records sections in stream order: ring views where a whole batch matched and needed no
   * conversion, else copies.
   */
  parts: Buffer[];
  /** Records selected. */
  packets: number;
  /** Bytes of `parts` together. */
  bytes: number;
  /** Linktype of every record in `parts` (the dump's). */
  linktype: number;
  /** Records selected that could not be converted to `linktype` (239 without a payload, for 101). */
  unconvertible: number;
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
  c: RecordCursor,
  format: RecordFormat,
  linktype: number,
): boolean {
  if (filter.sinceUs !== undefined || filter.untilUs !== undefined) {
    const frac = c.tsFrac;
    const tsUs = c.tsSec * 1e6 + (format.nanosecond ? Math.floor(frac / 1000) : frac);
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
  const fields = packetFields(rec.subarray(c.dataStart, c.end), linktype);
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
  for (const c = new RecordCursor(rec); c.next() === RECORD_OK;) {
    if (matches(filter, rec, c, format, batch.linktype)) {
      keep.push(c.offset, c.end);
      bytes += c.end - c.offset;
    }
  }
  const count = keep.length / 2;
  if (count === 0) return null;
  if (count === batch.count) return { part: rec, count }; // whole batch: share, do not copy
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = 0; i < keep.length; i += 2) at += rec.copy(out, at, keep[i], keep[i + 1]);
  return { part: out, count };
}

/**
 * Select the records a query asks for from a ring snapshot, in the dump's linktype. Without
 * record filters the selection is the ring's own buffers (zero copy) where their linktype is
 * the dump's; a batch where only some records match is copied once, and a batch of the other
 * linktype is converted (linktype-convert.ts: one buffer per batch). `maxBytes` then keeps the
 * newest records so that a 24-byte pcap header plus the records fit, cutting the oldest kept
 * part at a record boundary (a view, no copy).
 *
 * @param batches a {@link RingBuffer.snapshot}, oldest first
 * @param filter the parsed request; null selects everything (in the default linktype)
 * @param format timestamp resolution of the records
 */
export function selectRecords(
  batches: readonly RingBatch[],
  filter: QueryFilter | null,
  format: RecordFormat,
): Selection {
  let parts: Buffer[] = [];
  let counts: number[] = [];
  const linktypes: number[] = [];
  const narrow = filter !== null && filtersRecords(filter);
  for (const b of batches) {
    const kept =
      narrow && filter !== null
        ? filterBatch(filter, b, format)
        : { part: b.records, count: b.count };
    if (kept) {
      parts.push(kept.part);
      counts.push(kept.count);
      linktypes.push(b.linktype);
    }
  }
  // The dump's linktype: asked for, else the richer one when any selected record has it.
  const linktype =
    filter?.linktype ?? (linktypes.includes(LINKTYPE_NFLOG) ? LINKTYPE_NFLOG : LINKTYPE_RAW);
  let unconvertible = 0;
  for (let i = 0; i < parts.length; i++) {
    if (linktypes[i] === linktype) continue;
    const c = convertRecords(parts[i]!, counts[i]!, linktypes[i]!, linktype);
    parts[i] = c.records;
    counts[i] = c.count;
    unconvertible += c.dropped;
  }
  if (unconvertible > 0) {
    const keep = counts.map((n) => n > 0);
    parts = parts.filter((_, i) => keep[i]);
    counts = counts.filter((_, i) => keep[i]);
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
      const c = new RecordCursor(partial);
      while (partial.length - c.end > room && c.next() === RECORD_OK);
      if (c.end < partial.length) {
        kept.unshift(partial.subarray(c.end));
        keptCounts.unshift(counts[first - 1]! - c.count);
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
  return { parts, packets, bytes, linktype, unconvertible };
}
