// What the query filters look at in a packet: addresses, protocol and ports of the IP header.
// Layouts: RFC 791 (IPv4), RFC 8200 (IPv6 and its extension headers), and the LINKTYPE_NFLOG
// description on tcpdump.org (nflog_hdr, then TLVs with host-order length/type, 4-byte aligned).

import { LINKTYPE_NFLOG, LINKTYPE_RAW } from '@nflog-pipe/pcap-writer';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '@nflog-pipe/shared';
import { NFLOG_NO_PAYLOAD, NFLOG_TLV_HDR_BYTES, findNflogPayload } from './nflog-record.js';

/** The parts of an IP packet a query can filter on. Addresses are views, not copies. */
export interface PacketFields {
  /** 4 or 6. */
  family: 4 | 6;
  /** Source address, 4 or 16 bytes. */
  src: Buffer;
  /** Destination address, 4 or 16 bytes. */
  dst: Buffer;
  /** Upper-layer protocol number (after IPv6 extension headers), -1 if not found. */
  proto: number;
  /** Source port for TCP/UDP/SCTP in the first fragment, else -1. */
  srcPort: number;
  /** Destination port, as `srcPort`. */
  dstPort: number;
}

// IPv6 extension headers that may sit between the fixed header and the upper layer.
const IPV6_EXT_HOP = 0;
const IPV6_EXT_ROUTING = 43;
const IPV6_EXT_FRAGMENT = 44;
const IPV6_EXT_AH = 51;
const IPV6_EXT_DSTOPTS = 60;

function ports(pkt: Buffer, l4: number, proto: number, fields: PacketFields): void {
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) return;
  if (l4 + 4 > pkt.length) return;
  fields.srcPort = pkt.readUInt16BE(l4);
  fields.dstPort = pkt.readUInt16BE(l4 + 2);
}

/**
 * Parse the IP header at the start of `pkt` (linktype 101 data). Every offset is checked
 * against the captured length; a packet too short for its headers yields null (or fields
 * without ports when only the transport header is cut).
 */
export function parseIpPacket(pkt: Buffer): PacketFields | null {
  if (pkt.length < 1) return null;
  const version = pkt[0]! >> 4;
  if (version === 4) {
    if (pkt.length < 20) return null;
    const ihl = (pkt[0]! & 0x0f) * 4;
    if (ihl < 20 || ihl > pkt.length) return null;
    const proto = pkt[9]!;
    const fields: PacketFields = {
      family: 4,
      src: pkt.subarray(12, 16),
      dst: pkt.subarray(16, 20),
      proto,
      srcPort: -1,
      dstPort: -1,
    };
    // Only the first fragment (offset 0) carries the transport header.
    if ((pkt.readUInt16BE(6) & 0x1fff) === 0) ports(pkt, ihl, proto, fields);
    return fields;
  }
  if (version === 6) {
    if (pkt.length < 40) return null;
    const fields: PacketFields = {
      family: 6,
      src: pkt.subarray(8, 24),
      dst: pkt.subarray(24, 40),
      proto: -1,
      srcPort: -1,
      dstPort: -1,
    };
    let next = pkt[6]!;
    let offset = 40;
    let firstFragment = true;
    // Bounded: each step advances by at least 8 bytes inside the packet.
    for (;;) {
      if (next === IPV6_EXT_HOP || next === IPV6_EXT_ROUTING || next === IPV6_EXT_DSTOPTS) {
        if (offset + 2 > pkt.length) return fields;
        const len = (pkt[offset + 1]! + 1) * 8;
        next = pkt[offset]!;
        offset += len;
      } else if (next === IPV6_EXT_FRAGMENT) {
        if (offset + 8 > pkt.length) return fields;
        firstFragment = (pkt.readUInt16BE(offset + 2) & 0xfff8) === 0;
        next = pkt[offset]!;
        offset += 8;
      } else if (next === IPV6_EXT_AH) {
        if (offset + 2 > pkt.length) return fields;
        const len = (pkt[offset + 1]! + 2) * 4;
        next = pkt[offset]!;
        offset += len;
      } else {
        break;
      }
      if (offset > pkt.length) return fields;
    }
    fields.proto = next;
    if (firstFragment) ports(pkt, offset, next, fields);
    return fields;
  }
  return null;
}

/**
 * The packet inside a LINKTYPE_NFLOG record: the value of its NFULA_PAYLOAD TLV (a view), or
 * null when there is none or a TLV length is impossible.
 */
export function nflogPayload(rec: Buffer): Buffer | null {
  const at = findNflogPayload(rec, 0, rec.length);
  if (at === NFLOG_NO_PAYLOAD) return null;
  return rec.subarray(at + NFLOG_TLV_HDR_BYTES, at + rec.readUInt16LE(at));
}

/**
 * Filter fields of one record's data for the given stream linktype: 101 (raw IP) is parsed
 * directly, 239 (NFLOG) through its payload TLV; any other linktype gives null.
 */
export function packetFields(data: Buffer, linktype: number): PacketFields | null {
  if (linktype === LINKTYPE_RAW) return parseIpPacket(data);
  if (linktype === LINKTYPE_NFLOG) {
    const payload = nflogPayload(data);
    return payload === null ? null : parseIpPacket(payload);
  }
  return null;
}
