/**
 * Deterministic test payload number `index` of a stream identified by `seed`, `size` bytes long.
 * Bytes 0..3 are `seed` and bytes 4..7 are `index` (big-endian u32, truncated when size < 8);
 * byte k >= 8 is `(seed * 31 + index * 7 + k) & 0xff`, so every packet differs. These exact bytes
 * are in recorded fixtures (nflog-native's `test/fixtures/nflog-datagrams.bin`): do not change them.
 */
export function payloadFor(seed: number, index: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(seed >>> 0, 0);
  head.writeUInt32BE(index >>> 0, 4);
  head.copy(buf, 0, 0, Math.min(8, size));
  for (let k = 8; k < size; k++) {
    buf[k] = (seed * 31 + index * 7 + k) & 0xff;
  }
  return buf;
}
