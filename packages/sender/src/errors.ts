// The codes this package throws, in one place (the wire codes are shared's WIRE_ERROR_CODES,
// the shaper's compress's COMPRESS_ERROR_CODES).

import { NflogPipeError } from '@nflog-pipe/shared';

/** Every `code` a {@link SenderError} carries. Branch on these, never on the message. */
export const SENDER_ERROR_CODES = [
  /** `-u`: no such user in the passwd database. */
  'ERR_SENDER_UNKNOWN_USER',
  /** Dropping privileges failed or did not take effect (`cause` kept). */
  'ERR_SENDER_PRIVDROP',
  /** ZeroMQ refused the endpoint (`cause` kept). */
  'ERR_SENDER_CONNECT',
  /** The NFLOG socket could not be opened or configured (the NflogError as `cause`). */
  'ERR_SENDER_NFLOG_OPEN',
  /** Reading NFLOG failed fatally after the start (`cause` kept). */
  'ERR_SENDER_NFLOG_READ',
  /** A kernel read that needed splitting did not hold whole pcap records. */
  'ERR_SENDER_BAD_RECORDS',
] as const;

/** One of {@link SENDER_ERROR_CODES}. */
export type SenderErrorCode = (typeof SENDER_ERROR_CODES)[number];

/** A failure of the sender engine or its helpers, with a code from {@link SENDER_ERROR_CODES}. */
export class SenderError extends NflogPipeError<SenderErrorCode> {}
