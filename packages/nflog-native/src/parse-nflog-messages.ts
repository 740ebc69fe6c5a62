/**
 * parseNflogMessages and replayNflog: the C walker (and the kernel-order merge) applied to
 * Buffers, so tests and tools can replay recorded netlink datagrams.
 */
import { NflogError } from './errors.js';
import { flowKeyCode, type NflogFlowKey } from './flow-key.js';
import { native, type NativeBatch, type NativeCounts } from './native.js';
import { NFLOG_ACCOUNT_MAX_SERIES, type NflogAccount } from './nflog-account.js';

/** Counters of a walk, as in {@link NflogStats} (see there). */
export interface NflogWalkCounts {
  /** Records produced (held ones included). */
  packets: number;
  /** Sum of incl_len. */
  bytes: number;
  /** Records with incl_len < orig_len. */
  truncated: number;
  /** Messages skipped for impossible lengths (truncated nlmsg, attribute past its end or shorter than its type needs, zero-length attribute). */
  malformed: number;
  /** Packets missing from NFULA_SEQ gaps (baseline: the first packet seen per group). */
  kernelDropped: number;
  /** Locally generated records whose checksums were completed. */
  checksumsFixed: number;
  /** Locally generated records whose checksums could not be completed (left as logged). */
  checksumsIncomplete: number;
  /** Records released after a newer one (kernel order broken). */
  orderLate: number;
  /** Records released early because the hold store was full. */
  orderForced: number;
  /** Records still held at the end. */
  held: number;
}

/** One batch: `count` records and their index entries, views of one Buffer. */
export interface NflogBatch {
  /** pcap records (LE 16-byte headers, microseconds), back to back. */
  records: Buffer;
  /** Number of records. */
  count: number;
  /** Their index entries, 16 bytes each (README "Record index"). */
  index: Buffer;
}

/** What the walker made of a buffer. */
export type NflogParseResult = NflogWalkCounts &
  NflogBatch & {
    /** What the accounting table counted (entries empty when `maxSeries` is 0). */
    account: NflogAccount;
  };

/** How records are made (NflogSocketOptions' `linktype`, `checksums` and `flowKey`). */
export interface NflogWalkOptions {
  /** Default `'wire'`. */
  checksums?: 'wire' | 'as-logged';
  /** What the index's flow hash keys on; default `'5tuple'`. */
  flowKey?: NflogFlowKey;
}

/** Options of {@link parseNflogMessages}. */
export interface NflogParseOptions extends NflogWalkOptions {
  /** Count the packets by rule in an accounting table of this capacity (default 0: none). */
  maxSeries?: number;
}

function checkLinktype(linktype: unknown): void {
  if (linktype !== 101 && linktype !== 239) {
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `linktype must be 101 or 239, got ${String(linktype)}`,
    );
  }
}

function wireChecksums(options: NflogWalkOptions): 0 | 1 {
  const c = options.checksums ?? 'wire';
  if (c !== 'wire' && c !== 'as-logged')
    throw new NflogError('ERR_NFLOG_INVALID_OPTION', `checksums: 'wire' or 'as-logged'`);
  return c === 'wire' ? 1 : 0;
}

function batchOf(b: NativeBatch): NflogBatch {
  return {
    records: b.buffer.subarray(0, b.recordsBytes),
    count: b.count,
    index: b.buffer.subarray(b.recordsBytes),
  };
}

function countsOf(r: NativeCounts): NflogWalkCounts {
  return {
    packets: r.packets,
    bytes: r.bytes,
    truncated: r.truncated,
    malformed: r.malformed,
    kernelDropped: r.kernelDropped,
    checksumsFixed: r.checksumsFixed,
    checksumsIncomplete: r.checksumsIncomplete,
    orderLate: r.orderLate,
    orderForced: r.orderForced,
    held: r.held,
  };
}

/**
 * Walk one netlink datagram (as received from a NETLINK_NETFILTER socket)
 * and convert its NFULNL_MSG_PACKET messages to pcap records and index
 * entries, in arrival order; records without NFULA_TIMESTAMP get the current
 * time. With `maxSeries` > 0 the packets are also counted in an accounting
 * table of that capacity.
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for a bad linktype, checksums mode, flowKey or maxSeries.
 */
export function parseNflogMessages(
  buf: Buffer,
  linktype: 101 | 239,
  options: NflogParseOptions = {},
): NflogParseResult {
  checkLinktype(linktype);
  const maxSeries = options.maxSeries ?? 0;
  if (!Number.isInteger(maxSeries) || maxSeries < 0 || maxSeries > NFLOG_ACCOUNT_MAX_SERIES)
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `maxSeries must be an integer in 0..${NFLOG_ACCOUNT_MAX_SERIES}, got ${String(maxSeries)}`,
    );
  const r = native().parseNflogMessages(buf, {
    linktype,
    wireChecksums: wireChecksums(options),
    flowKey: flowKeyCode(options.flowKey),
    accountMaxSeries: maxSeries,
  });
  return { ...countsOf(r), ...batchOf(r), account: r.account };
}

/** One drain of {@link replayNflog}. */
export interface NflogReplayEvent {
  /** The datagram read in this drain; none: a drain that found the socket empty (a timer). */
  datagram?: Buffer;
  /** Monotonic clock at the drain, ms (integer). */
  nowMs: number;
  /** When the datagram was read, ms (default nowMs). */
  recvMs?: number;
  /** Wall clock given to records without NFULA_TIMESTAMP (default 0.000000). */
  wallSec?: number;
  wallUsec?: number;
  /** The socket was read empty, so holds may end (default true). */
  empty?: boolean;
  /** Release everything held (NflogSocket.flush()). */
  flush?: boolean;
}

/** Options of {@link replayNflog}. */
export interface NflogReplayOptions extends NflogWalkOptions {
  linktype: 101 | 239;
  /** The groups the socket would bind; more than one turns the kernel-order merge on. */
  groups: readonly number[];
  /** The merge's hold, ms. */
  orderHoldMs: number;
}

/**
 * The drain's conversion, kernel-order merge included, on recorded datagrams with the clocks
 * given: one batch per event (possibly empty), in order, and the counters at the end.
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for a bad linktype, checksums mode or flowKey.
 */
export function replayNflog(
  events: readonly NflogReplayEvent[],
  options: NflogReplayOptions,
): NflogWalkCounts & { batches: NflogBatch[] } {
  checkLinktype(options.linktype);
  const r = native().replayNflog(
    events.map((e) => ({
      ...(e.datagram !== undefined ? { datagram: e.datagram } : {}),
      nowMs: e.nowMs,
      recvMs: e.recvMs ?? e.nowMs,
      wallSec: e.wallSec ?? 0,
      wallUsec: e.wallUsec ?? 0,
      empty: e.empty === false ? 0 : 1,
      flush: e.flush === true ? 1 : 0,
    })),
    {
      linktype: options.linktype,
      wireChecksums: wireChecksums(options),
      flowKey: flowKeyCode(options.flowKey),
      merge: options.groups.length > 1 ? 1 : 0,
      holdMs: options.orderHoldMs,
      groups: [...options.groups],
    },
  );
  return { ...countsOf(r), batches: r.batches.map(batchOf) };
}
