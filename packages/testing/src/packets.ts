// Raw IP packet builders for tests that feed receivers, filters, pcap writers and readers by hand.

/** Ones' complement sum of 16-bit big-endian words (each buffer padded to even length), folded. */
export function onesSum(bufs: readonly Buffer[]): number {
  let sum = 0;
  for (const b of bufs) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071) of `bufs`. */
export function internetChecksum(bufs: readonly Buffer[]): number {
  return ~onesSum(bufs) & 0xffff;
}

/** The 4 bytes of a dotted-quad IPv4 address. */
function ipv4Address(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

/** The 16 bytes of an IPv6 address in text form (`fd00::1`; no embedded IPv4). */
export function ipv6Address(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const tl = addr.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** An IPv4 packet: 20-byte header (valid header checksum, so tshark does not flag it), then `l4`. */
export function ipv4(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const b = Buffer.alloc(20 + l4.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  ipv4Address(src).copy(b, 12);
  ipv4Address(dst).copy(b, 16);
  b.writeUInt16BE(internetChecksum([b.subarray(0, 20)]), 10);
  l4.copy(b, 20);
  return b;
}

/**
 * An IPv6 packet from 16-byte addresses, with optional extension headers `ext` (then the first
 * next-header is `firstNext`, and `next` is the last one's, set by the caller inside `ext`).
 */
export function ipv6(
  src: Buffer,
  dst: Buffer,
  next: number,
  l4: Buffer,
  ext: Buffer = Buffer.alloc(0),
  firstNext = next,
): Buffer {
  const b = Buffer.alloc(40 + ext.length + l4.length);
  b[0] = 0x60;
  b.writeUInt16BE(ext.length + l4.length, 4);
  b[6] = ext.length > 0 ? firstNext : next;
  b[7] = 64;
  src.copy(b, 8);
  dst.copy(b, 24);
  ext.copy(b, 40);
  l4.copy(b, 40 + ext.length);
  return b;
}

/** TCP/UDP-ish transport bytes: source and destination ports, then `rest` zero bytes. */
export function ports(src: number, dst: number, rest = 8): Buffer {
  const b = Buffer.alloc(4 + rest);
  b.writeUInt16BE(src, 0);
  b.writeUInt16BE(dst, 2);
  return b;
}

/** A UDP header and `payload`, its checksum over `pseudo` (the IP pseudo-header) filled in. */
function udpDatagram(sport: number, dport: number, payload: Buffer, pseudo: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  // 0 means "no checksum" in UDP, so a computed 0 is sent as 0xffff (RFC 768).
  udp.writeUInt16BE(internetChecksum([pseudo, udp]) || 0xffff, 6);
  return udp;
}

/** A UDP datagram in IPv4 with valid IP and UDP checksums (tshark verifies both). */
export function ipv4Udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer,
): Buffer {
  const pseudo = Buffer.alloc(12);
  ipv4Address(src).copy(pseudo, 0);
  ipv4Address(dst).copy(pseudo, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(8 + payload.length, 10);
  return ipv4(src, dst, 17, udpDatagram(sport, dport, payload, pseudo));
}

/** A UDP datagram in IPv6 (hop limit 64) with the mandatory UDP checksum. */
export function ipv6Udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer,
): Buffer {
  const pseudo = Buffer.alloc(40);
  ipv6Address(src).copy(pseudo, 0);
  ipv6Address(dst).copy(pseudo, 16);
  pseudo.writeUInt32BE(8 + payload.length, 32);
  pseudo[39] = 17;
  const udp = udpDatagram(sport, dport, payload, pseudo);
  return ipv6(ipv6Address(src), ipv6Address(dst), 17, udp);
}

/** What a test reads out of a raw IP packet (see parseIpPacket). */
export interface IpPacketFields {
  family: 4 | 6;
  /** Transport protocol: IPv4 protocol or the IPv6 next header (17 UDP, 6 TCP, ...). */
  proto: number;
  /** Transport destination port (meaningful for UDP and TCP only). */
  dport: number;
  /** The transport payload: after the 8-byte UDP header, or after TCP's data offset. */
  payload: Buffer;
}

/**
 * Reads family, transport protocol, destination port and payload of a raw IPv4/IPv6 UDP or TCP
 * packet (no IPv6 extension headers).
 * @throws Error when the version nibble is neither 4 nor 6
 */
export function parseIpPacket(ip: Buffer): IpPacketFields {
  const version = ip.readUInt8(0) >> 4;
  if (version !== 4 && version !== 6) throw new Error(`not an IP packet (version ${version})`);
  const headerBytes = version === 4 ? (ip.readUInt8(0) & 0x0f) * 4 : 40;
  const proto = version === 4 ? ip.readUInt8(9) : ip.readUInt8(6);
  const l4 = ip.subarray(headerBytes);
  // A TCP header cut short (a small copy range) leaves no payload rather than throwing.
  const tcpHeaderBytes = l4.length > 12 ? (l4.readUInt8(12) >> 4) * 4 : l4.length;
  const payload = l4.subarray(proto === 6 ? tcpHeaderBytes : 8);
  return { family: version, proto, dport: l4.readUInt16BE(2), payload };
}

/** NFLOG attribute types (linux/netfilter/nfnetlink_log.h) that nflogPacket writes. */
const NFULA_PACKET_HDR = 1;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

/**
 * One NFLOG TLV as netlink carries it: host-endian (LE here) u16 length including the 4-byte
 * header, u16 type, the value, zero-padded to 4 bytes.
 */
export function nflogTlv(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/**
 * A LINKTYPE_NFLOG (239) packet: nflog_hdr { u8 family, u8 version 0, u16 BE resource_id (the
 * group) }, then NFULA_PACKET_HDR, NFULA_PREFIX (NUL-terminated) and NFULA_PAYLOAD carrying
 * `ipPacket`.
 */
export function nflogPacket(ipPacket: Buffer, group: number, prefix: string): Buffer {
  const v6 = ipPacket[0]! >> 4 === 6;
  const hdr = Buffer.alloc(4);
  hdr[0] = v6 ? 10 : 2; // AF_INET6 : AF_INET
  hdr.writeUInt16BE(group, 2);
  const pktHdr = Buffer.alloc(4);
  pktHdr.writeUInt16BE(v6 ? 0x86dd : 0x0800, 0); // hw_protocol, network order
  pktHdr[2] = 1; // hook: NF_INET_LOCAL_IN
  return Buffer.concat([
    hdr,
    nflogTlv(NFULA_PACKET_HDR, pktHdr),
    nflogTlv(NFULA_PREFIX, Buffer.from(`${prefix}\0`, 'latin1')),
    nflogTlv(NFULA_PAYLOAD, ipPacket),
  ]);
}
