/**
 * Deterministic test payload number `index` of a stream identified by `seed`, `size` bytes long.
 * Bytes 0..3 are `seed` and bytes 4..7 are `index` (big-endian u32, truncated when size < 8);
 * the rest is a simple pattern of seed, index and position, so every packet differs.
 */
export function payloadFor(seed: number, index: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(seed >>> 0, 0);
  head.writeUInt32BE(index >>> 0, 4);
  head.copy(buf, 0, 0, Math.min(8, size));
  for (let k = 8; k < size; k++) {
    buf[k] = (seed + index * 7 + k * 31) & 0xff;
  }
  return buf;
}
