// The codes this package throws, in one place (the wire codes are shared's WIRE_ERROR_CODES).

import { NflogPipeError } from '@nflog-pipe/shared';

/** Every `code` a {@link ReceiverError} carries. Branch on these, never on the message. */
export const RECEIVER_ERROR_CODES = [
  /** An endpoint (the PULL socket's or `--buffer-interface`) could not be bound (`cause` kept). */
  'ERR_RECV_BIND',
  /** The output (DST) cannot be written: a directory, in a missing directory, not writable. */
  'ERR_RECV_OUTPUT',
  /**
   * A frame (a bad frame, not an exception) whose sequence number is further ahead than its
   * sender could have numbered packets since its previous frame (SequenceTracker).
   */
  'ERR_RECV_SEQUENCE_JUMP',
] as const;

/** One of {@link RECEIVER_ERROR_CODES}. */
export type ReceiverErrorCode = (typeof RECEIVER_ERROR_CODES)[number];

/** A failure of the receiver engine, or a refused frame, with a code from {@link RECEIVER_ERROR_CODES}. */
export class ReceiverError extends NflogPipeError<ReceiverErrorCode> {}
