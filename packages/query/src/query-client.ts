import { Request } from 'zeromq';
import { isQueryDump, parseQueryError } from '@nflog-pipe/shared';
import { QueryError } from './query-error.js';

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * Send one request to a receiver's buffer interface (ZeroMQ REQ) and return the reply parts:
 * `[pcap global header, records sections..., '']`; concatenated they are one pcap file.
 *
 * The whole exchange is bounded by `timeoutMs` (ZMQ_SNDTIMEO/ZMQ_RCVTIMEO), and the socket is
 * closed with linger 0, so an unreachable or silent receiver never keeps the process alive.
 *
 * @throws QueryError `ERR_QUERY_NO_REPLY` (nothing within `timeoutMs`), `ERR_QUERY_REJECTED`
 *   (the receiver answered with a JSON error, `cause` its code), `ERR_QUERY_BAD_REPLY` (neither)
 */
export async function fetchDump(
  endpoint: string,
  request: Buffer,
  timeoutMs: number,
): Promise<Buffer[]> {
  const socket = new Request({ linger: 0, sendTimeout: timeoutMs, receiveTimeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  try {
    socket.connect(endpoint);
    let parts: Buffer[];
    try {
      await socket.send(request);
      socket.receiveTimeout = Math.max(1, deadline - Date.now());
      parts = await socket.receive();
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
    socket.close();
  }
}
