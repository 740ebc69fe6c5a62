import { InvalidArgumentError } from 'commander';

// Converters for CLI option values. Each is a commander argParser: it throws commander's
// InvalidArgumentError, which commander reports as one line and our runProgram maps to exit 2.

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

function decimal(str: string, what: string): number {
  const s = str.trim();
  if (!DECIMAL.test(s))
    throw new InvalidArgumentError(`not a non-negative number${what}: '${str}'`);
  return Number(s);
}

/** Bytes in one MiB. */
export const MIB = 1024 * 1024;

/**
 * Parses a size in MiB (decimal, fractions allowed, >= 0) and returns bytes, rounded to an
 * integer. `'1.5'` → 1572864. @throws InvalidArgumentError on anything else.
 */
export function parseMiB(str: string): number {
  return Math.round(decimal(str, ' of MiB') * MIB);
}

/**
 * Parses a time in seconds (decimal, fractions allowed, >= 0) and returns milliseconds, rounded.
 * `'0.25'` → 250. @throws InvalidArgumentError on anything else.
 */
export function parseSeconds(str: string): number {
  return Math.round(decimal(str, ' of seconds') * 1000);
}

const DURATION = /^((?:\d+(?:\.\d*)?|\.\d+))(ms|s|m|h)?$/;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration with an optional unit — `ms`, `s`, `m`, `h`; no unit means seconds — and
 * returns milliseconds, rounded: `'250ms'` → 250, `'30s'` → 30000, `'5m'` → 300000,
 * `'1h'` → 3600000, `'10'` → 10000. @throws InvalidArgumentError on anything else.
 */
export function parseDuration(str: string): number {
  const m = DURATION.exec(str.trim());
  if (m === null)
    throw new InvalidArgumentError(`not a duration (like 250ms, 30s, 5m, 1h): '${str}'`);
  return Math.round(Number(m[1]) * (DURATION_UNIT_MS[m[2] ?? 's'] ?? 1000));
}

/**
 * Parses a positive integer (1, 2, ...; decimal digits only, up to 2^53 - 1).
 * @throws InvalidArgumentError on anything else.
 */
export function parsePositiveInt(str: string): number {
  const s = str.trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`not a positive integer: '${str}'`);
  }
  return n;
}

/**
 * Parses a comma-separated list of NFLOG group numbers (`'0,1'` → [0, 1]): each 0..65535,
 * no duplicates, at least one. Order is kept. @throws InvalidArgumentError otherwise.
 */
export function parseGroups(str: string): number[] {
  const groups: number[] = [];
  for (const part of str.split(',')) {
    const s = part.trim();
    const n = Number(s);
    if (!/^\d+$/.test(s) || n > 65535)
      throw new InvalidArgumentError(`not an NFLOG group (0..65535): '${part}'`);
    if (groups.includes(n)) throw new InvalidArgumentError(`NFLOG group ${n} given twice`);
    groups.push(n);
  }
  return groups;
}

/** A host name or address with a port. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host`, `host:port`, `[v6addr]` or `[v6addr]:port`; a bare IPv6 address (two or more
 * colons, no brackets) is taken as a host without port. The port is 1..65535 and defaults to
 * `defaultPort`. @throws InvalidArgumentError on an empty host or a bad port.
 */
export function parseHostPort(str: string, defaultPort: number): HostPort {
  const s = str.trim();
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    port = bracketed[2];
  } else if ((s.match(/:/g) ?? []).length >= 2) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    host = i < 0 ? s : s.slice(0, i);
    port = i < 0 ? undefined : s.slice(i + 1);
  }
  if (host === '' || /[[\]\s]/.test(host))
    throw new InvalidArgumentError(`no valid host in '${str}'`);
  if (port === undefined) return { host, port: defaultPort };
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`bad port in '${str}' (1..65535)`);
  return { host, port: n };
}

/**
 * Parses `[HOST:]PORT` of a socket to listen on (`9100`, `0.0.0.0:9100`, `[::1]:9100`,
 * `localhost:9100`): the host defaults to `defaultHost`; port 0..65535, 0 picking a free one.
 * @throws InvalidArgumentError (exit 2) on anything else
 */
export function parseListen(str: string, defaultHost: string): HostPort {
  const s = str.trim();
  const m = /^(?:\[([^\]]+)\]:|([^:[\]\s]+):)?(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (m === null || port > 65535)
    throw new InvalidArgumentError(`not [HOST:]PORT (port 0..65535): '${str}'`);
  return { host: m[1] ?? m[2] ?? defaultHost, port };
}
