// Raw IP packet builders for tests that feed receivers, filters and pcap readers by hand.

/** An IPv4 packet: 20-byte header (valid header checksum, so tshark does not flag it), then `l4`. */
export function ipv4(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const b = Buffer.alloc(20 + l4.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  src.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
  dst.split('.').forEach((x, i) => (b[16 + i] = Number(x)));
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  b.writeUInt16BE(~sum & 0xffff, 10);
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
