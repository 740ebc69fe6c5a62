/**
 * Accounting by rule: what the C walker counted per (group, log prefix) and
 * per group, read in one call (NflogSocket.account(), parseNflogMessages with
 * `maxSeries`). Counted in native/nl_account.c as each packet is converted.
 */

/** Largest `accountMaxSeries` the table accepts (NLA_MAX_ENTRIES). */
export const NFLOG_ACCOUNT_MAX_SERIES = 65536;

/** One (group, prefix) key of the accounting table, cumulative since open. */
export interface NflogAccountEntry {
  /** NFLOG group. */
  group: number;
  /** NFULA_PREFIX as text, without its NUL ("" for a rule without a prefix). */
  prefix: string;
  /** Packets delivered with this group and prefix. */
  packets: number;
  /** Their IP bytes at the original length (what nft's counter counts), not the copied bytes. */
  bytes: number;
}

/** Snapshot of the accounting, cumulative since open. */
export interface NflogAccount {
  /** Keys in first-seen order; an entry keeps its index from one snapshot to the next. */
  entries: NflogAccountEntry[];
  /** Packets of keys beyond the table's capacity (accountMaxSeries). */
  otherPackets: number;
  /** Their IP bytes. */
  otherBytes: number;
  /** Per group: packets the kernel dropped before they were read (NFULA_SEQ gaps), also without accounting. */
  groups: Array<{ group: number; kernelDropped: number }>;
}
