// Builders for real packets (IPv4/IPv6 UDP with valid checksums) and NFLOG pseudo-headers.

/** Ones' complement sum of 16-bit big-endian words, folded (RFC 1071). */
function onesSum(bufs: readonly Buffer[]): number {
  let sum = 0;
  for (const b of bufs) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function checksum(bufs: readonly Buffer[]): number {
  return ~onesSum(bufs) & 0xffff;
}

function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

function ipv6Bytes(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const tl = addr.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function udpHeader(sport: number, dport: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return udp;
}

/** A UDP datagram in IPv4 (20-byte header, TTL 64) with valid IP and UDP checksums. */
export function ipv4Udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer,
): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(0x1234, 4); // identification
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 17;
  ipv4Bytes(src).copy(ip, 12);
  ipv4Bytes(dst).copy(ip, 16);
  ip.writeUInt16BE(checksum([ip]), 10);
  const udp = udpHeader(sport, dport, payload);
  const pseudo = Buffer.alloc(12);
  ip.copy(pseudo, 0, 12, 20);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udp.length + payload.length, 10);
  udp.writeUInt16BE(checksum([pseudo, udp, payload]) || 0xffff, 6);
  return Buffer.concat([ip, udp, payload]);
}

/** A UDP datagram in IPv6 (hop limit 64) with the mandatory UDP checksum. */
export function ipv6Udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer,
): Buffer {
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(8 + payload.length, 4);
  ip[6] = 17;
  ip[7] = 64;
  ipv6Bytes(src).copy(ip, 8);
  ipv6Bytes(dst).copy(ip, 24);
  const udp = udpHeader(sport, dport, payload);
  const pseudo = Buffer.alloc(40);
  ip.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(udp.length + payload.length, 32);
  pseudo[39] = 17;
  udp.writeUInt16BE(checksum([pseudo, udp, payload]) || 0xffff, 6);
  return Buffer.concat([ip, udp, payload]);
}

/** NFLOG attribute types (linux/netfilter/nfnetlink_log.h). */
export const NFULA_PACKET_HDR = 1;
export const NFULA_PAYLOAD = 9;
export const NFULA_PREFIX = 10;

/** One NFLOG TLV: host-endian (LE here) u16 length incl. the 4-byte header, u16 type, padded to 4. */
function tlv(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/**
 * A LINKTYPE_NFLOG packet: nflog_hdr { u8 family, u8 version 0, u16 BE resource_id (the group) },
 * then NFULA_PACKET_HDR, NFULA_PREFIX (NUL-terminated) and NFULA_PAYLOAD carrying `ipPacket`.
 */
export function nflogPacket(ipPacket: Buffer, group: number, prefix: string): Buffer {
  const v6 = ipPacket[0]! >> 4 === 6;
  const hdr = Buffer.alloc(4);
  hdr[0] = v6 ? 10 : 2; // AF_INET6 : AF_INET
  hdr[1] = 0;
  hdr.writeUInt16BE(group, 2);
  const pktHdr = Buffer.alloc(4);
  pktHdr.writeUInt16BE(v6 ? 0x86dd : 0x0800, 0); // hw_protocol, network order
  pktHdr[2] = 1; // hook: NF_INET_LOCAL_IN
  return Buffer.concat([
    hdr,
    tlv(NFULA_PACKET_HDR, pktHdr),
    tlv(NFULA_PREFIX, Buffer.from(`${prefix}\0`, 'latin1')),
    tlv(NFULA_PAYLOAD, ipPacket),
  ]);
}
