// The codes this package throws, in one place (the wire codes are shared's WIRE_ERROR_CODES).

/**
 * Every `code` an error of the compress package carries, besides the WireError codes of its
 * decoders. Branch on these, never on the message.
 */
export const COMPRESS_ERROR_CODES = [
  /** RateShaper: a watermark is negative or not finite, or hwm is below lwm with both set. */
  'ERR_SHAPER_BAD_WATERMARK',
  /** RateShaper: the window is not a positive finite number while a watermark is set. */
  'ERR_SHAPER_BAD_WINDOW',
  /** LegacyShaper: push() after close(). */
  'ERR_SHAPER_CLOSED',
] as const;

/** One of {@link COMPRESS_ERROR_CODES}. */
export type CompressErrorCode = (typeof COMPRESS_ERROR_CODES)[number];

/**
 * A rate-control setting out of range, as a library reports it: a `RangeError` with a stable
 * `code` (`ERR_SHAPER_BAD_WATERMARK`, `ERR_SHAPER_BAD_WINDOW`). A CLI that passed the value
 * from the command line reports it as a usage error (exit 2); see `rateControlUsage`.
 */
export class ShaperRangeError extends RangeError {
  /** Stable identity of the failure. */
  readonly code: CompressErrorCode;
  constructor(code: CompressErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'ShaperRangeError';
  }
}
