// Builds the structured request of the buffer interface (docs/wire-format.md, "Query
// protocol"). The receiver parses it; an old receiver (the Python tool) ignores it and sends
// the whole buffer, which is still a valid answer.

import { isIP } from 'node:net';
import { UsageError } from '@nflog-pipe/shared';

/** Version number written in the `v` field. */
export const QUERY_REQUEST_VERSION = 1;

/** What the Python client sends: any request means "the whole buffer". */
export const QUERY_REQUEST_ALL = Buffer.from('q');

/** Protocol names the receiver understands (`icmp` matches ICMP and ICMPv6). */
export const QUERY_PROTOCOL_NAMES = ['tcp', 'udp', 'icmp', 'icmp6', 'sctp'] as const;

/** Narrowing of a dump; absent fields do not narrow. */
export interface QuerySpec {
  /** Records from the last this many ms (the receiver's clock). */
  lastMs?: number;
  /** Records with timestamp >= this, µs since the epoch. */
  sinceUs?: number;
  /** Records with timestamp < this, µs since the epoch. */
  untilUs?: number;
  /** Source or destination address equal to this IPv4/IPv6 address. */
  host?: string;
  /** Source or destination address inside this ADDR/BITS prefix. */
  net?: string;
  /** Source or destination TCP/UDP/SCTP port. */
  port?: number;
  /** One of QUERY_PROTOCOL_NAMES, or a protocol number 0..255. */
  proto?: string | number;
  /** Most bytes of the returned pcap (24-byte header included); the newest records are kept. */
  maxBytes?: number;
}

/** True when `text` is `ADDR` or `ADDR/BITS` with BITS within the address family's width. */
export function isPrefix(text: string): boolean {
  const [addr = '', bits, extra] = text.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Encode a request: `q` when nothing narrows the dump (so an old receiver sees what the Python
 * client sent), else the UTF-8 JSON object `{"v":1,...}`.
 *
 * @throws UsageError (`ERR_USAGE`) for an invalid field (bad address, port, protocol)
 */
export function buildQueryRequest(spec: QuerySpec): Buffer {
  const obj: Record<string, unknown> = { v: QUERY_REQUEST_VERSION };
  if (spec.host !== undefined) {
    if (isIP(spec.host) === 0) throw new UsageError(`--host: not an IP address: '${spec.host}'`);
    obj['host'] = spec.host;
  }
  if (spec.net !== undefined) {
    if (!isPrefix(spec.net)) throw new UsageError(`--net: not ADDR/BITS: '${spec.net}'`);
    obj['net'] = spec.net;
  }
  if (spec.port !== undefined) {
    if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535)
      throw new UsageError(`--port: not 0..65535: '${spec.port}'`);
    obj['port'] = spec.port;
  }
  if (spec.proto !== undefined) {
    const p =
      typeof spec.proto === 'string' && /^\d+$/.test(spec.proto) ? Number(spec.proto) : spec.proto;
    const ok =
      typeof p === 'number'
        ? Number.isInteger(p) && p >= 0 && p <= 255
        : (QUERY_PROTOCOL_NAMES as readonly string[]).includes(p.toLowerCase());
    if (!ok)
      throw new UsageError(
        `--proto: expected ${QUERY_PROTOCOL_NAMES.join('|')} or 0..255, got '${spec.proto}'`,
      );
    obj['proto'] = typeof p === 'string' ? p.toLowerCase() : p;
  }
  for (const key of ['lastMs', 'sinceUs', 'untilUs', 'maxBytes'] as const) {
    const value = spec[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new UsageError(`${key}: not a non-negative integer: ${value}`);
    obj[key] = value;
  }
  if (Object.keys(obj).length === 1) return QUERY_REQUEST_ALL;
  return Buffer.from(JSON.stringify(obj), 'utf8');
}
