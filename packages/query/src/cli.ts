// nflog-pcap-query: ask nflog-pcap-recv's buffer interface for a pcap dump of recent traffic.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type OptionValues } from 'commander';
import {
  EXIT_OK,
  QUERY_PROTOCOL_NAMES,
  QueryRequestError,
  UsageError,
  addCurveClientOptions,
  createProgram,
  curveClientFrom,
  encodeQueryRequest,
  loadCurveClient,
  parseDuration,
  parseSeconds,
  runProgram,
  validateEndpoint,
  type QueryRequest,
  type QueryRequestField,
} from '@nflog-pipe/shared';
import { fetchDump } from './query-client.js';

/** Default --timeout, seconds. */
export const QUERY_DEFAULT_TIMEOUT_S = 5;

/**
 * Parse a point in time: seconds since the epoch (`1700000000.5`) or anything `Date.parse`
 * reads (`2024-05-01T10:00:00Z`). Returns µs since the epoch.
 * @throws InvalidArgumentError
 */
export function parseTimePoint(text: string): number {
  const s = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1e6);
  const ms = Date.parse(s);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(`not a time (epoch seconds or ISO 8601): '${text}'`);
  return ms * 1000;
}

function nonNegInt(what: string, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v.trim());
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n > max)
      throw new InvalidArgumentError(`not ${what}: '${v}'`);
    return n;
  };
}

/** `--proto`: a protocol number as a number, a name as given (the protocol checks both). */
function parseProto(v: string): string | number {
  return /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

/** The option that sets each request field, for usage errors. */
const FIELD_OPTION: Readonly<Record<QueryRequestField, string>> = {
  sinceUs: '--since',
  untilUs: '--until',
  lastMs: '--last',
  host: '--host',
  net: '--net',
  port: '--port',
  proto: '--proto',
  maxBytes: '--max-bytes',
  linktype: '--linktype',
};

/** Builds the commander program. */
export function buildProgram(): ReturnType<typeof createProgram> {
  const program = createProgram(
    'nflog-pcap-query',
    "Fetch a pcap dump of recent traffic from nflog-pcap-recv's buffer interface.",
  )
    .argument(
      '<endpoint>',
      "the receiver's --buffer-interface endpoint (e.g. tcp://10.0.0.2:5556, ipc:///run/nflog-query.sock)",
    )
    .option('-w, --write <file>', 'write the pcap to this file instead of stdout')
    .addOption(
      new Option(
        '--last <duration>',
        "only the last DURATION of traffic (250ms, 30s, 5m, 1h; the receiver's clock)",
      )
        .argParser(parseDuration)
        .conflicts(['since']),
    )
    .addOption(
      new Option(
        '--since <time>',
        'only records at or after TIME (epoch seconds or ISO 8601)',
      ).argParser(parseTimePoint),
    )
    .addOption(
      new Option(
        '--until <time>',
        'only records before TIME (epoch seconds or ISO 8601)',
      ).argParser(parseTimePoint),
    )
    .option('--host <addr>', 'only packets from or to this IPv4/IPv6 address')
    .option('--net <addr/bits>', 'only packets from or to this network (10.0.0.0/8, fd00::/8)')
    .addOption(
      new Option('--port <port>', 'only TCP/UDP/SCTP packets from or to this port').argParser(
        nonNegInt('a port (0..65535)', 65535),
      ),
    )
    .addOption(
      new Option(
        '--proto <name>',
        `only this protocol: ${QUERY_PROTOCOL_NAMES.join('|')} or a number 0..255 (icmp includes ICMPv6)`,
      ).argParser(parseProto),
    )
    .addOption(
      new Option(
        '--max-bytes <bytes>',
        'at most this many bytes of pcap (header included); the newest records are kept',
      ).argParser(nonNegInt('a byte count')),
    )
    .addOption(
      new Option(
        '--linktype <n>',
        'linktype of the dump: 239 NFLOG (keeps prefix, hook, interfaces) or 101 raw IP (what Suricata and Snort read); the receiver converts (default: 239 if any selected packet arrived as 239, else 101)',
      ).argParser(nonNegInt('a linktype (101 or 239)', 0xffff)),
    )
    .addOption(
      new Option(
        '--timeout <seconds>',
        'give up when the receiver has not answered within this time, seconds',
      )
        .argParser(parseSeconds)
        .default(QUERY_DEFAULT_TIMEOUT_S * 1000, String(QUERY_DEFAULT_TIMEOUT_S)),
    );
  return addCurveClientOptions(program);
}

interface QueryOptions extends OptionValues {
  write?: string;
  last?: number;
  since?: number;
  until?: number;
  host?: string;
  net?: string;
  port?: number;
  proto?: string | number;
  maxBytes?: number;
  linktype?: number;
  timeout: number;
}

async function writeParts(out: Writable, parts: Buffer[]): Promise<void> {
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  for (const p of parts) {
    if (p.length > 0 && !out.write(p)) await Promise.race([once(out, 'drain'), failed]);
  }
}

/**
 * Runs `nflog-pcap-query` with the user arguments `argv`; resolves to the exit code: 0 when
 * the dump was written, 1 when the receiver did not answer within --timeout (or rejected the
 * query, or the output failed), 2 on bad usage. Never calls process.exit().
 */
export function main(argv: string[]): Promise<number> {
  return runProgram<QueryOptions>(buildProgram(), argv, async ({ opts, args, logger }) => {
    const endpoint = validateEndpoint(String(args[0]), 'connect');
    if (opts.timeout <= 0) throw new UsageError('--timeout must be > 0');
    const curveConfig = curveClientFrom(opts);
    const spec: QueryRequest = {};
    if (opts.last !== undefined) spec.lastMs = opts.last;
    if (opts.since !== undefined) spec.sinceUs = opts.since;
    if (opts.until !== undefined) spec.untilUs = opts.until;
    if (opts.host !== undefined) spec.host = opts.host;
    if (opts.net !== undefined) spec.net = opts.net;
    if (opts.port !== undefined) spec.port = opts.port;
    if (opts.proto !== undefined) spec.proto = opts.proto as QueryRequest['proto'];
    if (opts.maxBytes !== undefined) spec.maxBytes = opts.maxBytes;
    if (opts.linktype !== undefined) spec.linktype = opts.linktype;
    let request: Buffer;
    try {
      // The protocol's own checks: what it refuses here the receiver would reject.
      request = encodeQueryRequest(spec);
    } catch (err) {
      if (!(err instanceof QueryRequestError)) throw err;
      const option = FIELD_OPTION[err.field as QueryRequestField] ?? err.field;
      throw new UsageError(`${option}: ${err.reason}`, { cause: err });
    }
    const curve = curveConfig === null ? undefined : await loadCurveClient(curveConfig, logger);
    logger.debug('sending query', { endpoint, request: request.toString('utf8') });
    const parts = await fetchDump(endpoint, request, opts.timeout, {
      curve,
      ...(logger.isLevelEnabled('debug') ? { logger } : {}),
    });
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    if (opts.write !== undefined) {
      const file = createWriteStream(opts.write);
      await once(file, 'open');
      await writeParts(file, parts);
      file.end();
      await once(file, 'close');
    } else {
      await writeParts(process.stdout, parts);
    }
    logger.debug('dump written', { bytes, parts: parts.length });
    return EXIT_OK;
  });
}
