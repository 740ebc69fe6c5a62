import { Request } from 'zeromq';
import {
  PeerWatch,
  createLogger,
  curveClientSocketOptions,
  isQueryDump,
  parseQueryError,
  type CurveClientKeys,
  type HandshakeFailure,
  type Logger,
} from '@nflog-pipe/shared';
import { QueryError } from './query-error.js';

/** Options of {@link fetchDump}. */
export interface FetchDumpOptions {
  /** CURVE client keys of the REQ socket; undefined = plain. */
  curve?: CurveClientKeys | undefined;
  /** Where handshake events are logged (debug and up). Default: nowhere. */
  logger?: Logger | undefined;
}

/** A logger that writes nothing (the CLI reports a failure as its one error line). */
const SILENT = createLogger({ name: 'nflog-pcap-query', level: 'silent' });

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * Send one request to a receiver's buffer interface (ZeroMQ REQ) and return the reply parts:
 * `[pcap global header, records sections..., '']`; concatenated they are one pcap file.
 *
 * The whole exchange is bounded by `timeoutMs` (ZMQ_SNDTIMEO/ZMQ_RCVTIMEO), and the socket is
 * closed with linger 0, so an unreachable or silent receiver never keeps the process alive. A
 * handshake the receiver refuses, or one that cannot succeed (CURVE on one side only), ends it
 * at once rather than at the timeout.
 *
 * @throws QueryError `ERR_QUERY_NO_REPLY` (nothing within `timeoutMs`), `ERR_QUERY_REJECTED`
 *   (the receiver answered with a JSON error, `cause` its code), `ERR_QUERY_BAD_REPLY` (neither),
 *   `ERR_QUERY_HANDSHAKE` (refused or impossible handshake)
 */
export async function fetchDump(
  endpoint: string,
  request: Buffer,
  timeoutMs: number,
  options: FetchDumpOptions = {},
): Promise<Buffer[]> {
  const socket = new Request({
    linger: 0,
    sendTimeout: timeoutMs,
    receiveTimeout: timeoutMs,
    ...(options.curve !== undefined ? curveClientSocketOptions(options.curve) : {}),
  });
  let refused!: (f: HandshakeFailure) => void;
  const failed = new Promise<never>((_, reject) => {
    refused = (f) =>
      reject(
        new QueryError(
          'ERR_QUERY_HANDSHAKE',
          `handshake with ${endpoint} failed: ${f.reason} (${f.code})`,
        ),
      );
  });
  failed.catch(() => undefined);
  const watch = PeerWatch.watch(socket, {
    role: 'connect',
    endpoint,
    logger: options.logger ?? SILENT,
    curve: options.curve !== undefined,
    // One query, one try: a refusal is the answer.
    onFailure: (f) => {
      refused(f);
      return false;
    },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    socket.connect(endpoint);
    let parts: Buffer[];
    try {
      await Promise.race([socket.send(request), failed]);
      socket.receiveTimeout = Math.max(1, deadline - Date.now());
      parts = await Promise.race([socket.receive(), failed]);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'EAGAIN') {
        throw new QueryError(
          'ERR_QUERY_NO_REPLY',
          `no reply from ${endpoint} within ${formatSeconds(timeoutMs)}`,
        );
      }
      throw err;
    }
    if (isQueryDump(parts)) return parts;
    const rejected = parseQueryError(parts);
    if (rejected !== null) {
      throw new QueryError(
        'ERR_QUERY_REJECTED',
        `receiver rejected the query: ${rejected.message}`,
        { cause: { code: rejected.code } },
      );
    }
    throw new QueryError(
      'ERR_QUERY_BAD_REPLY',
      `reply from ${endpoint} is not a pcap dump (${parts[0]?.length ?? 0} bytes in the first part)`,
    );
  } finally {
    watch.close();
    socket.close();
  }
}
