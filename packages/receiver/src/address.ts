import { isIPv4, isIPv6 } from 'node:net';
import { parseQueryPrefix } from '@nflog-pipe/shared';

/** An address prefix: `bytes` (4 or 16) and how many leading bits must match. */
export interface AddressPrefix {
  /** 4 or 6. */
  family: 4 | 6;
  /** The network address, 4 or 16 bytes. */
  bytes: Buffer;
  /** Leading bits that must match, 0..32 or 0..128. */
  prefixBits: number;
}

function parseIPv4(str: string): Buffer {
  return Buffer.from(str.split('.').map((part) => Number(part)));
}

function parseIPv6(str: string): Buffer {
  const out = Buffer.alloc(16);
  let text = str;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [headText = '', tailText] = text.split('::');
  const head = headText === '' ? [] : headText.split(':');
  const rest = tailText === undefined || tailText === '' ? [] : tailText.split(':');
  head.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  rest.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), 16 - (rest.length - i) * 2));
  return out;
}

/**
 * Parse an IPv4 or IPv6 address into its 4 or 16 network-order bytes.
 *
 * @returns null when `str` is not an IP address (as decided by node:net `isIP`).
 */
export function parseAddress(str: string): Buffer | null {
  if (isIPv4(str)) return parseIPv4(str);
  if (isIPv6(str)) return parseIPv6(str);
  return null;
}

/**
 * Parse `ADDR/BITS` (or a bare address, meaning all bits) into a prefix. Host bits set in ADDR
 * are ignored, as tcpdump's `net` does not allow but most users mean (10.1.2.3/8 = 10.0.0.0/8).
 * The syntax is the query protocol's (`parseQueryPrefix`); this adds the bytes.
 *
 * @returns null when the address or the bit count is invalid.
 */
export function parsePrefix(str: string): AddressPrefix | null {
  const prefix = parseQueryPrefix(str);
  if (prefix === null) return null;
  const bytes = prefix.family === 4 ? parseIPv4(prefix.address) : parseIPv6(prefix.address);
  return { family: prefix.family, bytes, prefixBits: prefix.prefixBits };
}

/** True when `addr` (4 or 16 bytes) lies inside `prefix`; families must agree. */
export function prefixContains(prefix: AddressPrefix, addr: Buffer): boolean {
  if (addr.length !== prefix.bytes.length) return false;
  const whole = prefix.prefixBits >> 3;
  for (let i = 0; i < whole; i++) if (addr[i] !== prefix.bytes[i]) return false;
  const rem = prefix.prefixBits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((addr[whole]! ^ prefix.bytes[whole]!) & mask) === 0;
}
