// The query protocol of nflog-pcap-recv's buffer interface (`--buffer-interface`), spoken by
// nflog-pcap-query and the Python client: the contract between the receiver and its clients, as
// wire-v1.ts is for frames. The byte and field tables are in docs/wire-format.md ("Query
// protocol"); keep this file and that section in step.
//
// One REQ/REP exchange: a single-part request, then either a dump (a multipart pcap) or a
// one-part JSON error. A request that is not a `{"v":1,...}` object asks for the whole ring,
// so the Python client ("q") and an old receiver (which ignores our fields and sends the whole
// ring) still work. A field is added by adding it to QueryRequest and to FIELD_RULES below, then
// to the table in the docs; the receiver decides what it selects.

import { isIP } from 'node:net';
import { encodePcapHeader, readPcapHeader } from '@nflog-pipe/pcap-writer';
import { NflogPipeError } from './errors.js';

/** Version a structured request carries in its `v` field. */
export const QUERY_PROTOCOL_VERSION = 1;

/** What the Python client sends, and what we send when nothing narrows the dump. */
export const QUERY_REQUEST_ALL = 'q';

/** IANA protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IANA protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IANA protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IANA protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IANA protocol number of SCTP. */
export const IPPROTO_SCTP = 132;

/** Protocol names a request's `proto` may use, and the protocol numbers each one accepts. */
export const QUERY_PROTOCOLS = {
  tcp: [IPPROTO_TCP],
  udp: [IPPROTO_UDP],
  icmp: [IPPROTO_ICMP, IPPROTO_ICMPV6],
  icmp6: [IPPROTO_ICMPV6],
  sctp: [IPPROTO_SCTP],
} as const satisfies Record<string, readonly number[]>;

/** One of the names of {@link QUERY_PROTOCOLS}. */
export type QueryProtocolName = keyof typeof QUERY_PROTOCOLS;

/** The names of {@link QUERY_PROTOCOLS}, in table order. */
export const QUERY_PROTOCOL_NAMES = Object.keys(QUERY_PROTOCOLS) as readonly QueryProtocolName[];

/** The fields of a structured request (all optional; absent ones do not narrow). */
export interface QueryRequest {
  /** Records with timestamp >= this, µs since the epoch. */
  sinceUs?: number;
  /** Records with timestamp < this, µs since the epoch. */
  untilUs?: number;
  /** Records from the last this many ms, by the receiver's clock. */
  lastMs?: number;
  /** Source or destination address equal to this IPv4/IPv6 address. */
  host?: string;
  /** Source or destination address inside this `ADDR/BITS` prefix. */
  net?: string;
  /** Source or destination TCP/UDP/SCTP port, 0..65535. */
  port?: number;
  /** A protocol name (lower case once parsed) or a protocol number 0..255. */
  proto?: QueryProtocolName | number;
  /** Most bytes of the dump (24-byte header included); the newest records are kept. */
  maxBytes?: number;
  /**
   * Linktype of the dump, one of {@link QUERY_LINKTYPES}: 239 (NFLOG: prefix, hook, interfaces)
   * or 101 (raw IP). Absent: 239 when any selected record arrived as 239, else 101. The
   * receiver converts the records that arrived in the other one.
   */
  linktype?: number;
}

/** A field name of {@link QueryRequest}. */
export type QueryRequestField = keyof QueryRequest;

/**
 * A structured request with a bad or unknown field: the receiver rejects it with an error reply
 * (no dump), the encoder refuses to build it. `field` names the field, `reason` says what is
 * wrong with it; the message is `<field>: <reason>`.
 */
export class QueryRequestError extends NflogPipeError<'ERR_QUERY_BAD_REQUEST'> {
  /** The offending field as written in the request (an unknown one too). */
  readonly field: string;
  /** What is wrong with it, without the field name. */
  readonly reason: string;
  constructor(field: string, reason: string) {
    super('ERR_QUERY_BAD_REQUEST', `${field}: ${reason}`);
    this.field = field;
    this.reason = reason;
  }
}

/** An address or prefix as the protocol writes it, split and checked. */
export interface QueryPrefix {
  /** The address part (no `/BITS`), a valid IPv4 or IPv6 address. */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
  /** Leading bits that must match: the given BITS, or the whole address (32/128) without. */
  prefixBits: number;
}

/**
 * Split and check `ADDR` or `ADDR/BITS` (BITS within the address family's width), the syntax of
 * the `host` and `net` fields.
 *
 * @returns null when it is neither
 */
export function parseQueryPrefix(text: string): QueryPrefix | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return null;
  const maxBits = family === 4 ? 32 : 128;
  if (slash < 0) return { address, family, prefixBits: maxBits };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits) return null;
  return { address, family, prefixBits: Number(bits) };
}

/** Checks one field's value; returns it normalized. */
type FieldRule = (field: string, value: unknown) => unknown;

function integer(max: number): FieldRule {
  return (field, value) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
      throw new QueryRequestError(
        field,
        `must be an integer in 0..${max}, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
}

const address: FieldRule = (field, value) => {
  if (typeof value !== 'string' || value.includes('/') || parseQueryPrefix(value) === null) {
    throw new QueryRequestError(field, `must be an IP address, got ${JSON.stringify(value)}`);
  }
  return value;
};

const prefix: FieldRule = (field, value) => {
  if (typeof value !== 'string' || parseQueryPrefix(value) === null) {
    throw new QueryRequestError(
      field,
      `must be an IP address or ADDR/BITS, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

/** The linktypes a dump can be asked for: 101 (raw IP) and 239 (NFLOG). */
export const QUERY_LINKTYPES: readonly number[] = [101, 239];

const linktype: FieldRule = (field, value) => {
  if (typeof value !== 'number' || !QUERY_LINKTYPES.includes(value)) {
    throw new QueryRequestError(
      field,
      `must be one of ${QUERY_LINKTYPES.join('|')}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

const protocol: FieldRule = (field, value) => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) {
    return value;
  }
  if (typeof value === 'string') {
    const name = value.toLowerCase();
    if (Object.hasOwn(QUERY_PROTOCOLS, name)) return name;
  }
  throw new QueryRequestError(
    field,
    `must be one of ${QUERY_PROTOCOL_NAMES.join('|')} or 0..255, got ${JSON.stringify(value)}`,
  );
};

// Every field and its rule, in the order the encoder writes them. The one list both ends use.
const FIELD_RULES: { readonly [K in QueryRequestField]-?: FieldRule } = {
  sinceUs: integer(Number.MAX_SAFE_INTEGER),
  untilUs: integer(Number.MAX_SAFE_INTEGER),
  lastMs: integer(Number.MAX_SAFE_INTEGER),
  host: address,
  net: prefix,
  port: integer(65535),
  proto: protocol,
  maxBytes: integer(Number.MAX_SAFE_INTEGER),
  linktype,
};

/** Every field a structured request may carry besides `v`, in the order the encoder writes them. */
export const QUERY_REQUEST_FIELDS = Object.keys(FIELD_RULES) as readonly QueryRequestField[];

/**
 * Check every given field of `request` and return them normalized (protocol names in lower
 * case), in QUERY_REQUEST_FIELDS order. A field whose value is undefined (or, from JSON, null)
 * is absent.
 */
function checkFields(request: Readonly<Record<string, unknown>>): QueryRequest {
  const out: Record<string, unknown> = {};
  for (const field of QUERY_REQUEST_FIELDS) {
    const value = request[field];
    if (value !== undefined && value !== null) out[field] = FIELD_RULES[field](field, value);
  }
  return out;
}

/**
 * Encode a request: `q` when no field narrows the dump (so an old receiver sees what the Python
 * client sent), else the UTF-8 JSON object `{"v":1,...}` with the fields normalized.
 *
 * @throws QueryRequestError `ERR_QUERY_BAD_REQUEST` for a field the receiver would reject
 */
export function encodeQueryRequest(request: QueryRequest): Buffer {
  const fields = checkFields(request as Readonly<Record<string, unknown>>);
  if (Object.keys(fields).length === 0) return Buffer.from(QUERY_REQUEST_ALL);
  return Buffer.from(JSON.stringify({ v: QUERY_PROTOCOL_VERSION, ...fields }), 'utf8');
}

/**
 * Parse the first part of a request received on the buffer interface.
 *
 * @returns null for "the whole ring" (anything that is not a UTF-8 JSON object with `v: 1`),
 *   else the request's fields, checked and normalized
 * @throws QueryRequestError `ERR_QUERY_BAD_REQUEST` for a v1 object with a bad or unknown field
 */
export function parseQueryRequest(request: Buffer): QueryRequest | null {
  // Cheap test first: the Python client's "q" and other junk never reach JSON.parse.
  if (request.length === 0 || request[0] !== 0x7b /* { */) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(request.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
  const given = obj as Record<string, unknown>;
  if (given['v'] !== QUERY_PROTOCOL_VERSION) return null;
  for (const key of Object.keys(given)) {
    if (key !== 'v' && !Object.hasOwn(FIELD_RULES, key)) {
      throw new QueryRequestError(key, 'unknown field');
    }
  }
  return checkFields(given);
}

/** What an error reply says. */
export interface QueryErrorReply {
  /** The receiver's error code (`ERR_QUERY_BAD_REQUEST`). */
  code: string;
  /** Its one-line explanation. */
  message: string;
}

/** Encode the one-part error reply `{"error":{"code":...,"message":...}}`. */
export function encodeQueryError(error: QueryErrorReply): Buffer {
  return Buffer.from(
    JSON.stringify({ error: { code: error.code, message: error.message } }),
    'utf8',
  );
}

/**
 * Read a reply as an error reply.
 *
 * @returns the code and message, or null when the reply is anything else (a dump, junk)
 */
export function parseQueryError(parts: readonly Buffer[]): QueryErrorReply | null {
  const first = parts[0];
  if (parts.length !== 1 || first === undefined || first[0] !== 0x7b /* { */) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(first.toString('utf8'));
  } catch {
    return null;
  }
  const error = (obj as { error?: unknown } | null)?.error as
    { code?: unknown; message?: unknown } | undefined;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return null;
  return { code: error.code, message: error.message };
}

/** How the records of a dump are encoded (what its pcap header says). */
export interface QueryDumpFormat {
  /** pcap linktype of every record. */
  linktype: number;
  /** True when the records carry nanoseconds (else microseconds). */
  nanosecond: boolean;
}

/**
 * The parts of a dump reply: the pcap global header (24 bytes, LE), the records sections as
 * given (not copied), then an empty part. Concatenated they are one pcap file.
 */
export function encodeQueryDump(format: QueryDumpFormat, sections: readonly Buffer[]): Buffer[] {
  return [
    encodePcapHeader({ linktype: format.linktype, nanosecond: format.nanosecond }),
    ...sections,
    Buffer.alloc(0),
  ];
}

/**
 * True when a reply is a dump: its first part is a pcap global header (either magic, either
 * byte order: the Python receiver's too).
 */
export function isQueryDump(parts: readonly Buffer[]): boolean {
  const first = parts[0];
  if (first === undefined) return false;
  try {
    readPcapHeader(first);
    return true;
  } catch {
    return false;
  }
}
