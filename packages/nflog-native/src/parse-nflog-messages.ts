/**
 * parseNflogMessages: the C record walker applied to a Buffer, so tests and
 * tools can replay recorded netlink datagrams.
 */
import { NflogError } from './errors.js';
import { native } from './native.js';
import { NFLOG_ACCOUNT_MAX_SERIES, type NflogAccount } from './nflog-account.js';

/** What the walker made of a buffer. */
export interface NflogParseResult {
  /** pcap records (LE 16-byte headers, microseconds), back to back. */
  records: Buffer;
  /** Number of records. */
  count: number;
  /** Sum of incl_len. */
  bytes: number;
  /** Records with incl_len < orig_len. */
  truncated: number;
  /** Messages skipped for impossible lengths (truncated nlmsg, attribute past its end, zero-length attribute). */
  malformed: number;
  /** Packets missing from NFULA_SEQ gaps (baseline: the first packet seen per group). */
  kernelDropped: number;
  /** What the accounting table counted (entries empty when `maxSeries` is 0). */
  account: NflogAccount;
}

/**
 * Walk one netlink datagram (as received from a NETLINK_NETFILTER socket)
 * and convert its NFULNL_MSG_PACKET messages to pcap records; records
 * without NFULA_TIMESTAMP get the current time. With `maxSeries` > 0 the
 * packets are also counted in an accounting table of that capacity.
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for a bad linktype or maxSeries.
 */
export function parseNflogMessages(
  buf: Buffer,
  linktype: 101 | 239,
  maxSeries = 0,
): NflogParseResult {
  if (linktype !== 101 && linktype !== 239) {
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `linktype must be 101 or 239, got ${String(linktype)}`,
    );
  }
  if (!Number.isInteger(maxSeries) || maxSeries < 0 || maxSeries > NFLOG_ACCOUNT_MAX_SERIES)
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `maxSeries must be an integer in 0..${NFLOG_ACCOUNT_MAX_SERIES}, got ${String(maxSeries)}`,
    );
  const r = native().parseNflogMessages(buf, linktype, maxSeries);
  return {
    records: r.records,
    count: r.count,
    bytes: r.bytes,
    truncated: r.truncated,
    malformed: r.malformed,
    kernelDropped: r.kernelDropped,
    account: r.account,
  };
}
