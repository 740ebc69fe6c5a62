import { NflogPipeError } from '@nflog-pipe/shared';

/**
 * Every `code` a {@link QueryError} carries (the receiver's own code for a rejected request,
 * `ERR_QUERY_BAD_REQUEST`, is the query protocol's, in @nflog-pipe/shared).
 */
export const QUERY_ERROR_CODES = [
  /** Nothing came back within the timeout. */
  'ERR_QUERY_NO_REPLY',
  /** The receiver answered with an error reply; `cause.code` is its code. */
  'ERR_QUERY_REJECTED',
  /** The reply is neither a dump nor an error reply. */
  'ERR_QUERY_BAD_REPLY',
  /**
   * The receiver refused the handshake (our key is not on its `--buffer-curve-allow`) or it
   * cannot succeed (CURVE on one side only); `cause` is the socket event's error.
   */
  'ERR_QUERY_HANDSHAKE',
] as const;

/** One of {@link QUERY_ERROR_CODES}. */
export type QueryErrorCode = (typeof QUERY_ERROR_CODES)[number];

/** The receiver did not answer in time, or answered with an error or a non-pcap reply. */
export class QueryError extends NflogPipeError<QueryErrorCode> {}
