/**
 * murmur3_x86_32 (Austin Appleby's MurmurHash3, public domain) in TypeScript: the function the
 * C walker's flow hash uses (native/nl_flow.c), for whoever must agree with it without the
 * addon — the sender's rendezvous weights, and the tests that check the C side against it.
 */

/** 32-bit rotate left. */
function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/**
 * murmur3_x86_32 of `data` with `seed` (default 0), as an unsigned 32-bit number. Blocks are
 * read little-endian, as the reference does on x86, on every host.
 */
export function murmur3x86_32(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = data.length;
  const blocksEnd = len & ~3;
  let h = seed | 0;
  let k: number;
  for (let i = 0; i < blocksEnd; i += 4) {
    k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = rotl(k, 15);
    k = Math.imul(k, c2);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  k = 0;
  const rest = len & 3;
  if (rest === 3) k ^= data[blocksEnd + 2]! << 16;
  if (rest >= 2) k ^= data[blocksEnd + 1]! << 8;
  if (rest >= 1) {
    k ^= data[blocksEnd]!;
    k = Math.imul(k, c1);
    k = rotl(k, 15);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
