// Reader of the Python tool's rate-control framing (shaper.py decompress_pipe): a first byte
// 0x00 then one message as is, or 0x01 then a zlib stream (RFC 1950, what Python's
// zlib.compressobj() writes) of (u32 BE length, message) repeated. The byte table is in
// docs/wire-format.md ("Legacy rate-control framing").

import { WIRE_DEFAULT_MAX_RAW_BYTES, WireError } from '@nflog-pipe/shared';
import { inflateCapped } from './inflate-capped.js';

/** First byte of a legacy rate-controlled message that carries one message as is. */
export const LEGACY_SHAPED_PLAIN = 0x00;
/** First byte of a legacy rate-controlled message that carries a zlib-compressed window. */
export const LEGACY_SHAPED_ZLIB = 0x01;
/** Size of the big-endian length before each message inside a compressed window, bytes. */
export const LEGACY_WINDOW_LENGTH_BYTES = 4;
/**
 * Default cap on one inflated legacy window, bytes (64 MiB). The Python compressor counted
 * compressed bytes toward its 10 MiB default window, so a genuine window can inflate to
 * several times that; ours are much smaller (LegacyShaper's maxPendingBytes).
 */
export const LEGACY_DEFAULT_MAX_INFLATED_BYTES = WIRE_DEFAULT_MAX_RAW_BYTES;

/** Options of {@link decodeLegacyShaped}. */
export interface DecodeLegacyShapedOptions {
  /** Cap on the inflated size of a 0x01 window, bytes. Default 64 MiB. */
  maxInflatedBytes?: number;
}

/**
 * Split one legacy rate-controlled message into the messages it carries (for the Python tool's
 * wire: one legacy XDR packet each; this function does not look inside them).
 *
 * @param msg one ZeroMQ message starting with 0x00 or 0x01
 * @param options `maxInflatedBytes`, cap on an inflated window (bytes, default 64 MiB)
 * @returns the carried messages, in order; views into `msg` (0x00) or into one fresh inflated
 *   buffer (0x01). A window may carry no message.
 * @throws WireError ERR_WIRE_SHORT_HEADER (empty message), ERR_WIRE_BAD_MAGIC (first byte neither
 *   0x00 nor 0x01), ERR_WIRE_INFLATE (corrupt zlib stream), ERR_WIRE_OVERSIZE (inflates past the
 *   cap), ERR_WIRE_LENGTH_MISMATCH (bytes after the zlib stream), ERR_WIRE_TRUNCATED_RECORD (a
 *   length prefix or message runs past the end of the window)
 */
export function decodeLegacyShaped(msg: Buffer, options: DecodeLegacyShapedOptions = {}): Buffer[] {
  if (msg.length < 1)
    throw new WireError('ERR_WIRE_SHORT_HEADER', 'empty message, expected 0x00 or 0x01 first');
  const kind = msg[0];
  if (kind === LEGACY_SHAPED_PLAIN) return [msg.subarray(1)];
  if (kind !== LEGACY_SHAPED_ZLIB) {
    throw new WireError(
      'ERR_WIRE_BAD_MAGIC',
      `first byte 0x${kind!.toString(16).padStart(2, '0')}, expected 0x00 or 0x01`,
    );
  }
  const cap = options.maxInflatedBytes ?? LEGACY_DEFAULT_MAX_INFLATED_BYTES;
  const window = inflateCapped('zlib', msg.subarray(1), cap, 'legacy window');
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < window.length) {
    if (window.length - offset < LEGACY_WINDOW_LENGTH_BYTES) {
      throw new WireError(
        'ERR_WIRE_TRUNCATED_RECORD',
        `message ${out.length}: ${window.length - offset} bytes left for a 4-byte length`,
      );
    }
    const length = window.readUInt32BE(offset);
    const start = offset + LEGACY_WINDOW_LENGTH_BYTES;
    if (length > window.length - start) {
      throw new WireError(
        'ERR_WIRE_TRUNCATED_RECORD',
        `message ${out.length}: length ${length} runs past the window end (${window.length - start} left)`,
      );
    }
    out.push(window.subarray(start, start + length));
    offset = start + length;
  }
  return out;
}
