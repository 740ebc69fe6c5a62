// The codes this package throws, in one place.

import { NflogPipeError } from '@nflog-pipe/shared';

/** Every `code` a {@link PackagingError} carries. Branch on these, never on the message. */
export const PACKAGING_ERROR_CODES = [
  /** A package.json or package-lock.json is missing or not the JSON expected. */
  'ERR_PACK_BAD_MANIFEST',
  /** Two shipped packages ask for different ranges of one dependency, or name the same bin. */
  'ERR_PACK_CONFLICT',
  /** A dependency of a shipped package is not in package-lock.json (run npm install). */
  'ERR_PACK_LOCK_MISSING',
  /** A bin or main file of a shipped package is not built (run npm run build). */
  'ERR_PACK_NOT_BUILT',
  /** npm (pack) failed; its stderr is in the message. */
  'ERR_PACK_NPM',
] as const;

/** One of {@link PACKAGING_ERROR_CODES}. */
export type PackagingErrorCode = (typeof PACKAGING_ERROR_CODES)[number];

/** A failure to build the tarball, with a code from {@link PACKAGING_ERROR_CODES}. */
export class PackagingError extends NflogPipeError<PackagingErrorCode> {}
