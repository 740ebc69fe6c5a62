/**
 * parseNflogMessages: the C record walker applied to a Buffer, so tests and
 * tools can replay recorded netlink datagrams.
 */
import { NflogError } from './errors.js';
import { native } from './native.js';

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
}

/**
 * Walk one netlink datagram (as received from a NETLINK_NETFILTER socket)
 * and convert its NFULNL_MSG_PACKET messages to pcap records; records
 * without NFULA_TIMESTAMP get the current time.
 * @throws NflogError ERR_NFLOG_INVALID_OPTION for a bad linktype.
 */
export function parseNflogMessages(buf: Buffer, linktype: 101 | 239): NflogParseResult {
  if (linktype !== 101 && linktype !== 239) {
    throw new NflogError(
      'ERR_NFLOG_INVALID_OPTION',
      `linktype must be 101 or 239, got ${String(linktype)}`,
    );
  }
  const r = native().parseNflogMessages(buf, linktype);
  return {
    records: r.records,
    count: r.count,
    bytes: r.bytes,
    truncated: r.truncated,
    malformed: r.malformed,
    kernelDropped: r.kernelDropped,
  };
}
