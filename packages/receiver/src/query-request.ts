// The structured query request (docs/wire-format.md, "Query protocol"): a UTF-8 JSON object
// with "v": 1. Anything that is not such an object (the Python client sends "q") asks for the
// whole buffer, so old clients keep working.

import { NflogPipeError } from '@nflog-pipe/shared';
import { parsePrefix, type AddressPrefix } from './address.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './packet-fields.js';

/** Version number a structured request carries in its `v` field. */
export const QUERY_REQUEST_VERSION = 1;

/** A structured request that parsed as JSON with `v: 1` but has a bad field. */
export class QueryRequestError extends NflogPipeError {
  constructor(message: string) {
    super('ERR_QUERY_BAD_REQUEST', message);
  }
}

/** What a request selects from the ring. Absent fields do not narrow. */
export interface QueryFilter {
  /** Keep records with timestamp >= this, microseconds since the epoch. */
  sinceUs?: number;
  /** Keep records with timestamp < this, microseconds since the epoch. */
  untilUs?: number;
  /** Source or destination address inside this prefix (host = full-length prefix). */
  host?: AddressPrefix;
  /** Source or destination address inside this prefix. */
  net?: AddressPrefix;
  /** Source or destination TCP/UDP/SCTP port. */
  port?: number;
  /** Accepted upper-layer protocol numbers (`icmp` accepts ICMP and ICMPv6). */
  protos?: readonly number[];
  /** Most bytes of the reply pcap (24-byte header included); the newest records are kept. */
  maxBytes?: number;
}

/** Protocol names a request may use, and the protocol numbers each accepts. */
export const QUERY_PROTOCOLS: Readonly<Record<string, readonly number[]>> = {
  tcp: [IPPROTO_TCP],
  udp: [IPPROTO_UDP],
  icmp: [IPPROTO_ICMP, IPPROTO_ICMPV6],
  icmp6: [IPPROTO_ICMPV6],
  sctp: [IPPROTO_SCTP],
};

const KNOWN_KEYS = new Set([
  'v',
  'sinceUs',
  'untilUs',
  'lastMs',
  'host',
  'net',
  'port',
  'proto',
  'maxBytes',
]);

function nonNegInt(
  obj: Record<string, unknown>,
  key: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new QueryRequestError(
      `${key} must be an integer in 0..${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function prefix(
  obj: Record<string, unknown>,
  key: string,
  wholeOnly: boolean,
): AddressPrefix | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const parsed =
    typeof value === 'string' && !(wholeOnly && value.includes('/')) ? parsePrefix(value) : null;
  if (parsed === null) {
    throw new QueryRequestError(
      `${key} must be an IP address${wholeOnly ? '' : ' or ADDR/BITS'}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

function protos(obj: Record<string, unknown>): readonly number[] | undefined {
  const value = obj['proto'];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255)
    return [value];
  if (typeof value === 'string') {
    const known = QUERY_PROTOCOLS[value.toLowerCase()];
    if (known) return known;
  }
  throw new QueryRequestError(
    `proto must be one of ${Object.keys(QUERY_PROTOCOLS).join('|')} or 0..255, got ${JSON.stringify(value)}`,
  );
}

/**
 * Decode one request received on the buffer interface.
 *
 * @param request the request message (first part)
 * @param nowMs the receiver's clock, ms since the epoch, for `lastMs`
 * @returns null for "the whole buffer" (not a JSON object with `v: 1`), else the filter
 * @throws QueryRequestError `ERR_QUERY_BAD_REQUEST` for a v1 object with a bad or unknown field
 */
export function parseQueryRequest(request: Buffer, nowMs: number): QueryFilter | null {
  // Cheap test first: the Python client's "q" and other junk never reach JSON.parse.
  if (request.length === 0 || request[0] !== 0x7b /* { */) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(request.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
  const fields = obj as Record<string, unknown>;
  if (fields['v'] !== QUERY_REQUEST_VERSION) return null;
  for (const key of Object.keys(fields)) {
    if (!KNOWN_KEYS.has(key)) throw new QueryRequestError(`unknown field ${JSON.stringify(key)}`);
  }
  const filter: QueryFilter = {};
  let sinceUs = nonNegInt(fields, 'sinceUs');
  const lastMs = nonNegInt(fields, 'lastMs');
  if (lastMs !== undefined) {
    const fromLast = Math.max(0, (nowMs - lastMs) * 1000);
    sinceUs = sinceUs === undefined ? fromLast : Math.max(sinceUs, fromLast);
  }
  if (sinceUs !== undefined) filter.sinceUs = sinceUs;
  const untilUs = nonNegInt(fields, 'untilUs');
  if (untilUs !== undefined) filter.untilUs = untilUs;
  const host = prefix(fields, 'host', true);
  if (host) filter.host = host;
  const net = prefix(fields, 'net', false);
  if (net) filter.net = net;
  const port = nonNegInt(fields, 'port', 65535);
  if (port !== undefined) filter.port = port;
  const p = protos(fields);
  if (p) filter.protos = p;
  const maxBytes = nonNegInt(fields, 'maxBytes');
  if (maxBytes !== undefined) filter.maxBytes = maxBytes;
  return filter;
}
