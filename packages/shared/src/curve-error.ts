import { NflogPipeError } from './errors.js';

/**
 * Every `code` a {@link CurveError} can carry: keys (Z85), certificate files and allowlists.
 * docs/operations.md ("Security") says what each means for an operator.
 */
export const CURVE_ERROR_CODES = [
  /** Not Z85 (RFC 32): a length that is not a multiple of 5 (4 to encode), a character outside the alphabet, or a group above 2^32 - 1. */
  'ERR_CURVE_BAD_Z85',
  /** A key that is not 32 bytes (40 Z85 characters). */
  'ERR_CURVE_BAD_KEY',
  /** A certificate file that cannot be read (`cause`: the fs error). */
  'ERR_CURVE_CERT_READ',
  /** A certificate file that cannot be written (`cause`: the fs error). */
  'ERR_CURVE_CERT_WRITE',
  /** A certificate file without a usable `curve` / `public-key` (or with a bad key in it). */
  'ERR_CURVE_BAD_CERT',
  /** A secret certificate was expected (`--curve-server`, `--curve-client`) but the file holds no `secret-key`. */
  'ERR_CURVE_NO_SECRET',
  /** The file's `public-key` is not the public key of its `secret-key`. */
  'ERR_CURVE_KEY_MISMATCH',
  /** A certificate file to be written exists already. */
  'ERR_CURVE_CERT_EXISTS',
  /** This libzmq was built without CURVE (`capability.curve` is false). */
  'ERR_CURVE_UNSUPPORTED',
] as const;

/** One of {@link CURVE_ERROR_CODES}. */
export type CurveErrorCode = (typeof CURVE_ERROR_CODES)[number];

/** A key, a certificate file or an allowlist that cannot be used. */
export class CurveError extends NflogPipeError<CurveErrorCode> {}
