// The layout of a LINKTYPE_NFLOG (239) record's data, as the tcpdump.org link-layer type
// registry describes it and as nflog-native writes it: a 4-byte nflog_hdr (address family,
// version 0, the NFLOG group as a big-endian resource id), then the kernel's NFULA_* TLVs, each
// a length and a type in the pcap file's byte order (little-endian: ours always is), the value,
// and padding to a multiple of 4. The packet itself is the value of the NFULA_PAYLOAD TLV.

/** Bytes of the nflog_hdr in front of the TLVs. */
export const NFLOG_HDR_BYTES = 4;

/** Bytes of a TLV header (length, type). */
export const NFLOG_TLV_HDR_BYTES = 4;

/** NFULA_PAYLOAD (linux/netfilter/nfnetlink_log.h): the packet, from its network header on. */
export const NFULA_PAYLOAD = 9;

/** Linux address families of the nflog_hdr. */
export const NFLOG_AF_INET = 2;
/** AF_INET6 on Linux. */
export const NFLOG_AF_INET6 = 10;

/** What {@link findNflogPayload} returns when the record has no (well-formed) payload TLV. */
export const NFLOG_NO_PAYLOAD = -1;

/**
 * Where the NFULA_PAYLOAD TLV of the NFLOG record data `buf[start, end)` begins (its header:
 * the value follows NFLOG_TLV_HDR_BYTES later and is `buf.readUInt16LE(at) - 4` bytes long).
 * Every TLV length is checked against `end` before it is used; a length below 4 or past `end`
 * ends the search. Allocates nothing.
 *
 * @returns the TLV's offset in `buf`, or NFLOG_NO_PAYLOAD
 */
export function findNflogPayload(buf: Buffer, start: number, end: number): number {
  let at = start + NFLOG_HDR_BYTES;
  while (at + NFLOG_TLV_HDR_BYTES <= end) {
    const len = buf.readUInt16LE(at);
    // The top bits of the type are NLA_F_NESTED / NLA_F_NET_BYTEORDER, not part of it.
    const type = buf.readUInt16LE(at + 2) & 0x3fff;
    if (len < NFLOG_TLV_HDR_BYTES || at + len > end) return NFLOG_NO_PAYLOAD;
    if (type === NFULA_PAYLOAD) return at;
    at += (len + 3) & ~3;
  }
  return NFLOG_NO_PAYLOAD;
}

/** The nflog_hdr address family of an IP packet whose first byte is `firstByte` (0 if neither). */
export function nflogFamilyOf(firstByte: number): number {
  const version = firstByte >> 4;
  return version === 4 ? NFLOG_AF_INET : version === 6 ? NFLOG_AF_INET6 : 0;
}
