// Z85 (ZeroMQ RFC 32): the text form of CURVE keys in certificate files, in socket options and
// on the command line. 4 bytes become 5 characters, big-endian, base 85 over a fixed alphabet
// chosen to be safe inside quoted strings (no quote marks, no backslash). zeromq.js has no Z85
// helper of its own, and the ZAP handler gets client keys as 32 raw bytes, so we need both ways.

import { CurveError } from './curve-error.js';

/** The Z85 alphabet: character i stands for the digit i. */
const ALPHABET =
  '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Digit of each character code, -1 for characters outside the alphabet. */
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT[ALPHABET.charCodeAt(i)] = i;

/** Bytes of a CURVE key (public or secret). */
export const CURVE_KEY_BYTES = 32;
/** Z85 characters of a CURVE key. */
export const CURVE_KEY_Z85_CHARS = 40;

/**
 * Encodes `data` as Z85.
 * @throws CurveError `ERR_CURVE_BAD_Z85` when its length is not a multiple of 4
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0)
    throw new CurveError(
      'ERR_CURVE_BAD_Z85',
      `Z85 encodes multiples of 4 bytes, not ${data.length}`,
    );
  let out = '';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < data.length; i += 4) {
    let value = view.getUint32(i);
    const group = new Array<string>(5);
    for (let k = 4; k >= 0; k--) {
      group[k] = ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += group.join('');
  }
  return out;
}

/**
 * Decodes Z85 `text` into bytes.
 * @throws CurveError `ERR_CURVE_BAD_Z85` on a length that is not a multiple of 5, a character
 *   outside the alphabet, or a 5-character group whose value does not fit 32 bits
 */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0)
    throw new CurveError(
      'ERR_CURVE_BAD_Z85',
      `Z85 text comes in groups of 5 characters, not ${text.length}`,
    );
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let k = 0; k < 5; k++) {
      const code = text.charCodeAt(i + k);
      const digit = code < 128 ? DIGIT[code]! : -1;
      if (digit < 0)
        throw new CurveError(
          'ERR_CURVE_BAD_Z85',
          `not a Z85 character at ${i + k}: ${JSON.stringify(text[i + k])}`,
        );
      value = value * 85 + digit;
    }
    if (value > 0xffffffff)
      throw new CurveError('ERR_CURVE_BAD_Z85', `Z85 group at ${i} is above 2^32 - 1`);
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** True when `text` is 40 Z85 characters that decode (a CURVE key given inline). */
export function isZ85Key(text: string): boolean {
  if (text.length !== CURVE_KEY_Z85_CHARS) return false;
  try {
    z85Decode(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that `text` is a CURVE key in Z85 (40 characters, 32 bytes) and returns it unchanged.
 * @param what names the key in the error, e.g. `'--curve-server-key'`
 * @throws CurveError `ERR_CURVE_BAD_KEY` (wrong length) or `ERR_CURVE_BAD_Z85`
 */
export function checkZ85Key(text: string, what: string): string {
  if (text.length !== CURVE_KEY_Z85_CHARS)
    throw new CurveError(
      'ERR_CURVE_BAD_KEY',
      `${what}: a CURVE key is ${CURVE_KEY_Z85_CHARS} Z85 characters, not ${text.length}`,
    );
  try {
    z85Decode(text);
  } catch (err) {
    throw new CurveError('ERR_CURVE_BAD_Z85', `${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return text;
}
