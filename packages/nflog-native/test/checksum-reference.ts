// An independent reading of RFC 1071/768/793/8200 checksums, big-endian and byte by byte (the C
// side sums 32-bit host-order words; the sums are testing's, as its packet builders use them):
// what the tests compare the walker's completed checksums against. IPv6 extension headers:
// hop-by-hop, destination options, routing, fragment.

import { internetChecksum, onesSum } from '@nflog-pipe/testing';

/** What {@link checkChecksums} found; null where the packet has no such checksum or it is cut. */
export interface ChecksumVerdict {
  /** IPv4 header checksum correct (null for IPv6). */
  ip: boolean | null;
  /** Transport checksum correct: TCP, UDP (0 = none counts as correct), ICMPv6. */
  l4: boolean | null;
  /** Transport protocol number. */
  proto: number;
}

/** The transport header offset and protocol of an IPv6 packet, after its extension headers. */
function ipv6Transport(p: Buffer): { off: number; proto: number } {
  let nh = p[6]!;
  let off = 40;
  while ([0, 43, 44, 60].includes(nh) && off + 8 <= p.length) {
    const next = p[off]!;
    off += nh === 44 ? 8 : (p[off + 1]! + 1) * 8;
    nh = next;
  }
  return { off, proto: nh };
}

/** Verifies the checksums of the raw IP packet `p` (whole, as captured). */
export function checkChecksums(p: Buffer): ChecksumVerdict {
  const v = p[0]! >> 4;
  if (v === 4) {
    const ihl = (p[0]! & 0x0f) * 4;
    const tot = p.readUInt16BE(2);
    const ip = onesSum([p.subarray(0, ihl)]) === 0xffff;
    const proto = p[9]!;
    if ((proto !== 6 && proto !== 17) || tot > p.length || tot === 0)
      return { ip, l4: null, proto };
    const l4 = p.subarray(ihl, tot);
    if (proto === 17 && l4.readUInt16BE(6) === 0) return { ip, l4: true, proto };
    const pseudo = Buffer.alloc(12);
    p.copy(pseudo, 0, 12, 20);
    pseudo[9] = proto;
    pseudo.writeUInt16BE(l4.length, 10);
    return { ip, l4: onesSum([pseudo, l4]) === 0xffff, proto };
  }
  const plen = p.readUInt16BE(4);
  const { off, proto } = ipv6Transport(p);
  if (![6, 17, 58].includes(proto) || plen === 0 || 40 + plen > p.length)
    return { ip: null, l4: null, proto };
  const l4 = p.subarray(off, 40 + plen);
  const pseudo = Buffer.alloc(40);
  p.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(l4.length, 32);
  pseudo[39] = proto;
  return { ip: null, l4: onesSum([pseudo, l4]) === 0xffff, proto };
}

/** Where the transport checksum of `p` sits (absolute offset), or -1 for none of ours. */
function l4Field(p: Buffer): { at: number; l4: number; end: number; pseudo: Buffer } | null {
  if (p[0]! >> 4 === 4) {
    const ihl = (p[0]! & 0x0f) * 4;
    const proto = p[9]!;
    const field = proto === 6 ? 16 : proto === 17 ? 6 : -1;
    if (field < 0) return null;
    const tot = p.readUInt16BE(2);
    const pseudo = Buffer.alloc(12);
    p.copy(pseudo, 0, 12, 20);
    pseudo[9] = proto;
    pseudo.writeUInt16BE(tot - ihl, 10);
    return { at: ihl + field, l4: ihl, end: tot, pseudo };
  }
  const { off, proto } = ipv6Transport(p);
  const field = proto === 6 ? 16 : proto === 17 ? 6 : proto === 58 ? 2 : -1;
  if (field < 0) return null;
  const end = 40 + p.readUInt16BE(4);
  const pseudo = Buffer.alloc(40);
  p.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(end - off, 32);
  pseudo[39] = proto;
  return { at: off + field, l4: off, end, pseudo };
}

/** `p` with correct checksums (IPv4 header; TCP, UDP, ICMPv6), as it goes on the wire. */
export function withChecksums(p: Buffer): Buffer {
  const out = Buffer.from(p);
  if (out[0]! >> 4 === 4) {
    out.writeUInt16BE(0, 10);
    out.writeUInt16BE(internetChecksum([out.subarray(0, (out[0]! & 0x0f) * 4)]), 10);
  }
  const f = l4Field(out);
  if (f !== null) {
    out.writeUInt16BE(0, f.at);
    const c = internetChecksum([f.pseudo, out.subarray(f.l4, f.end)]);
    // UDP sends a computed 0 as 0xffff (0 means "no checksum").
    out.writeUInt16BE(c === 0 && isUdp(out) ? 0xffff : c, f.at);
  }
  return out;
}

function isUdp(p: Buffer): boolean {
  return p[0]! >> 4 === 4 ? p[9] === 17 : ipv6Transport(p).proto === 17;
}

/**
 * `p` as checksum offload leaves a locally generated packet at the output hook: the transport
 * checksum holds only the folded pseudo-header sum (the kernel's `~csum_tcpudp_magic(...)`), and,
 * to show that one is completed too, the IPv4 header checksum zeroed.
 */
export function asOffloaded(p: Buffer): Buffer {
  const out = withChecksums(p);
  if (out[0]! >> 4 === 4) out.writeUInt16BE(0, 10);
  const f = l4Field(out);
  if (f !== null) out.writeUInt16BE(onesSum([f.pseudo]), f.at);
  return out;
}

/** The IPv4 header checksum `p`'s header should carry. */
export function ipv4HeaderChecksum(p: Buffer): number {
  const h = Buffer.from(p.subarray(0, (p[0]! & 0x0f) * 4));
  h.writeUInt16BE(0, 10);
  return internetChecksum([h]);
}
