// Packet builders shared by the receiver tests (not a test file itself).
import assert from 'node:assert/strict';
import { encodeRecords } from '@nflog-pipe/pcap-writer';

/** An IPv4 packet: 20-byte header, then `l4` bytes (ports first for TCP/UDP). */
export function ipv4(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const b = Buffer.alloc(20 + l4.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  src.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
  dst.split('.').forEach((x, i) => (b[16 + i] = Number(x)));
  l4.copy(b, 20);
  return b;
}

/** An IPv6 packet with a 16-byte address given as 8 groups, optional extension headers. */
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

/** TCP/UDP-ish transport bytes: ports then `rest` filler bytes. */
export function ports(src: number, dst: number, rest = 8): Buffer {
  const b = Buffer.alloc(4 + rest);
  b.writeUInt16BE(src, 0);
  b.writeUInt16BE(dst, 2);
  return b;
}

/** Records section with one record per packet, timestamps tsSec.i µs. */
export function records(pkts: Buffer[], tsSec = 1_700_000_000, firstUsec = 0): Buffer {
  return encodeRecords(pkts.map((data, i) => ({ tsSec, tsFrac: firstUsec + i, data })));
}

/** A UDP IPv4 packet 127.0.0.1 → 127.0.0.1 whose source port encodes `i` and payload size `size`. */
export function numbered(i: number, size = 32): Buffer {
  const l4 = Buffer.alloc(8 + size);
  l4.writeUInt16BE(10000 + (i % 50000), 0);
  l4.writeUInt16BE(9, 2);
  l4.writeUInt16BE(8 + size, 4);
  l4.writeUInt32BE(i, 8);
  return ipv4('127.0.0.1', '127.0.0.1', 17, l4);
}

/** key=value pairs of the last log line whose message is `msg`. */
export function logFields(stderr: string, msg: string): Record<string, string> {
  const lines = stderr.split('\n').filter((l) => l.includes(`: ${msg} `));
  const line = lines[lines.length - 1];
  assert.ok(line, `no "${msg}" line in:\n${stderr}`);
  return Object.fromEntries([...line.matchAll(/ ([a-z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}
