// One capped, strict inflate for both encodings (v1 raw deflate, legacy zlib stream).

import type * as Zlib from 'node:zlib';
import { WireError, lazyRequire } from '@nflog-pipe/shared';

// zlib is loaded at the first use, not at import (shared's lazyRequire): a sender without
// --rate-control never needs it.
const zlib = lazyRequire<typeof Zlib>(import.meta.url, 'node:zlib');

/** What zlib returns with `info: true`; @types/node does not type that overload. */
interface InflateInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/**
 * Inflate `input` (raw deflate or a zlib stream) into at most `maxOutputBytes` bytes.
 * zlib's maxOutputLength stops as soon as the output would pass the cap, so a zip bomb costs at
 * most the cap in memory, never more. Bytes after the end of the deflate stream are an error
 * (Node and Python both ignore them silently; no encoder of ours or the Python tool's adds any).
 *
 * @param format 'raw' (RFC 1951, wire v1) or 'zlib' (RFC 1950, legacy, Python compressobj())
 * @param maxOutputBytes cap on the inflated size, bytes (>= 0)
 * @param what names the input in error messages
 * @throws WireError ERR_WIRE_OVERSIZE (would inflate past the cap), ERR_WIRE_INFLATE (corrupt or
 *   truncated stream), ERR_WIRE_LENGTH_MISMATCH (trailing bytes after the stream)
 */
export function inflateCapped(
  format: 'raw' | 'zlib',
  input: Buffer,
  maxOutputBytes: number,
  what: string,
): Buffer {
  // zlib rejects a maxOutputLength of 0; a cap of 0 is enforced below instead.
  const options = { maxOutputLength: Math.max(1, maxOutputBytes), info: true } as Zlib.ZlibOptions;
  let result: InflateInfo;
  try {
    result = (format === 'raw'
      ? zlib().inflateRawSync(input, options)
      : zlib().inflateSync(input, options)) as unknown as InflateInfo;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new WireError(
        'ERR_WIRE_OVERSIZE',
        `${what} inflates past the cap of ${maxOutputBytes} bytes`,
        {
          cause: err,
        },
      );
    }
    throw new WireError('ERR_WIRE_INFLATE', `${what}: corrupt deflate stream`, { cause: err });
  }
  if (result.buffer.length > maxOutputBytes) {
    throw new WireError(
      'ERR_WIRE_OVERSIZE',
      `${what} inflates past the cap of ${maxOutputBytes} bytes`,
    );
  }
  if (result.engine.bytesWritten !== input.length) {
    throw new WireError(
      'ERR_WIRE_LENGTH_MISMATCH',
      `${what}: ${input.length - result.engine.bytesWritten} bytes after the end of the deflate stream`,
    );
  }
  return result.buffer;
}
