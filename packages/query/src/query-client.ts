import { Request } from 'zeromq';
import { NflogPipeError } from '@nflog-pipe/shared';
import { PCAP_HEADER_BYTES, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from '@nflog-pipe/pcap-writer';

/** The receiver did not answer in time, or answered with an error or a non-pcap reply. */
export class QueryError extends NflogPipeError {}

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
    const first = parts[0] ?? Buffer.alloc(0);
    if (first.length >= PCAP_HEADER_BYTES) {
      const magic = first.readUInt32LE(0);
      if (
        magic === PCAP_MAGIC_USEC ||
        magic === PCAP_MAGIC_NSEC ||
        first.readUInt32BE(0) === PCAP_MAGIC_USEC
      )
        return parts;
    }
    if (parts.length === 1 && first[0] === 0x7b /* { */) {
      let reply: { error?: { code?: unknown; message?: unknown } } | undefined;
      try {
        reply = JSON.parse(first.toString('utf8')) as typeof reply;
      } catch {
        reply = undefined;
      }
      if (reply?.error !== undefined) {
        throw new QueryError(
          'ERR_QUERY_REJECTED',
          `receiver rejected the query: ${String(reply.error.message)}`,
          {
            cause: { code: reply.error.code },
          },
        );
      }
    }
    throw new QueryError(
      'ERR_QUERY_BAD_REPLY',
      `reply from ${endpoint} is not a pcap dump (${first.length} bytes in the first part)`,
    );
  } finally {
    socket.close();
  }
}
