/**
 * Base class of every error this project throws on purpose. `code` is a stable identity
 * (`ERR_<AREA>_<WHAT>`); the message may change between releases. A package's error class
 * narrows `C` to its registry of codes (`class WireError extends NflogPipeError<WireErrorCode>`),
 * so every throw site is checked against it.
 */
export class NflogPipeError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad command-line usage: the CLI prints one line and exits 2. */
export class UsageError extends NflogPipeError<'ERR_USAGE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
  }
}

/** A frame from the network that does not decode; counted and skipped by receivers. */
export class WireError extends NflogPipeError<WireErrorCode> {}

/**
 * Every `code` a {@link WireError} can carry. Receivers may count bad frames per code; the
 * layouts each code refers to are in docs/wire-format.md ("Decoder errors").
 */
export const WIRE_ERROR_CODES = [
  /** Fewer bytes than the fixed header (v1: 40, legacy: 16). */
  'ERR_WIRE_SHORT_HEADER',
  /** v1: the first four bytes are not `NFPZ`. */
  'ERR_WIRE_BAD_MAGIC',
  /** v1: version byte is not 1. */
  'ERR_WIRE_BAD_VERSION',
  /** v1: an unknown flag bit is set (or the encoder was asked for one). */
  'ERR_WIRE_BAD_FLAGS',
  /** v1: the reserved header field is not 0. */
  'ERR_WIRE_BAD_RESERVED',
  /** Header lengths disagree with each other or with the message length; legacy trailing bytes or non-zero padding. */
  'ERR_WIRE_LENGTH_MISMATCH',
  /** rawBytes above the decoder's cap, or one packet above WIRE_MAX_RECORD_BYTES. */
  'ERR_WIRE_OVERSIZE',
  /** The header's record count does not match the records section. */
  'ERR_WIRE_COUNT_MISMATCH',
  /** A record (or legacy opaque) runs past the end of its section. */
  'ERR_WIRE_TRUNCATED_RECORD',
  /** A record shorter than its linktype allows (an IPv4 header for 101, the nflog_hdr for 239). */
  'ERR_WIRE_SHORT_RECORD',
  /** v1 metadata is not a UTF-8 JSON object (only from decodeFrameMeta). */
  'ERR_WIRE_BAD_META',
  /** A deflate/zlib stream does not inflate (compress package: v1 records, legacy 0x01 batches). */
  'ERR_WIRE_INFLATE',
  /** Encoder input out of range (a field wider than its header slot). */
  'ERR_WIRE_BAD_FIELD',
  /** Converting to nanoseconds (`nanosecond` option): a ts_usec above 4294967 cannot be microseconds. */
  'ERR_WIRE_BAD_TIMESTAMP',
] as const;

/** One of {@link WIRE_ERROR_CODES}. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];
