/**
 * The per-record index the C walker writes after the records of every read: one fixed-size,
 * little-endian entry per record, so later stages (kernel order on the wire, flow sharding) know
 * what the kernel said about each packet without parsing it again and without a JS object per
 * packet. Layout: README "Record index"; the C side is native/nl_records.h.
 */

/** Bytes of one index entry. */
export const NFLOG_INDEX_ENTRY_BYTES = 16;

/** Byte offsets of the fields inside an index entry. */
export const NFLOG_INDEX = {
  /** u32: offset of the record's 16-byte pcap header in the records Buffer. */
  OFFSET: 0,
  /** u32: NFULA_SEQ_GLOBAL, the namespace-wide kernel order (valid with `SEQ_GLOBAL`). */
  SEQ_GLOBAL: 4,
  /** u32: flow hash, the same for both directions of a flow (README "Flow hash"). */
  FLOW_HASH: 8,
  /** u16: NFLOG group. */
  GROUP: 12,
  /** u8: netfilter hook (NF_INET_*), {@link NFLOG_NO_HOOK} without NFULA_PACKET_HDR. */
  HOOK: 14,
  /** u8: {@link NFLOG_RECORD_FLAG} bits. */
  FLAGS: 15,
} as const;

/** Bits of an index entry's flags byte. */
export const NFLOG_RECORD_FLAG = {
  /** NFULA_SEQ_GLOBAL was present: the SEQ_GLOBAL field is valid. */
  SEQ_GLOBAL: 0x01,
  /** NFULA_IFINDEX_INDEV was present (received or forwarded). */
  INDEV: 0x02,
  /** NFULA_IFINDEX_OUTDEV was present. */
  OUTDEV: 0x04,
  /** ts is NFULA_TIMESTAMP (hooks up to FORWARD), not the time of the read. */
  KERNEL_TS: 0x08,
  /** incl_len < orig_len: the copy range, a snaplen or NFLOG's 65531-byte limit cut it. */
  TRUNCATED: 0x10,
  /** Locally generated, and a checksum was completed as it goes on the wire. */
  CHECKSUM_FIXED: 0x20,
  /** Locally generated, but a checksum could not be completed (cut, fragment, ...): as logged. */
  CHECKSUM_INCOMPLETE: 0x40,
} as const;

/** The HOOK field of a record whose message had no NFULA_PACKET_HDR. */
export const NFLOG_NO_HOOK = 0xff;

/** Netfilter hooks as the HOOK field carries them (enum nf_inet_hooks). */
export const NF_HOOK = {
  PRE_ROUTING: 0,
  LOCAL_IN: 1,
  FORWARD: 2,
  LOCAL_OUT: 3,
  POST_ROUTING: 4,
} as const;

/** NFULA_SEQ_GLOBAL of record `i` (meaningful when its SEQ_GLOBAL flag is set). */
export function indexSeqGlobal(index: Buffer, i: number): number {
  return index.readUInt32LE(i * NFLOG_INDEX_ENTRY_BYTES + NFLOG_INDEX.SEQ_GLOBAL);
}

/** The flags byte of record `i` ({@link NFLOG_RECORD_FLAG}). */
export function indexFlags(index: Buffer, i: number): number {
  return index[i * NFLOG_INDEX_ENTRY_BYTES + NFLOG_INDEX.FLAGS]!;
}

/** Byte offset of record `i` in its records Buffer. */
export function indexOffset(index: Buffer, i: number): number {
  return index.readUInt32LE(i * NFLOG_INDEX_ENTRY_BYTES + NFLOG_INDEX.OFFSET);
}

/** The flow hash of record `i` (README "Flow hash"; a sender shards by its top 16 bits). */
export function indexFlowHash(index: Buffer, i: number): number {
  return index.readUInt32LE(i * NFLOG_INDEX_ENTRY_BYTES + NFLOG_INDEX.FLOW_HASH);
}
