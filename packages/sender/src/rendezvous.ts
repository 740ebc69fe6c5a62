// Which receiver a flow goes to: rendezvous (highest random weight) hashing over the endpoint
// strings, precomputed for every bucket of the flow hash into a table the native split reads.
// The mapping depends only on the endpoint strings and which of them are live: every sender
// with the same list puts a flow on the same receiver, and when a receiver is taken out only
// its buckets move (each to the live endpoint with the next highest weight), coming back when
// it returns (sender README, "Sharding").

import { NFLOG_SHARD_BUCKETS, murmur3x86_32 } from '@nflog-pipe/nflog-native';

/** The seed of an endpoint's weights: murmur3_x86_32 (seed 0) of its UTF-8 text. */
export function endpointSeed(endpoint: string): number {
  return murmur3x86_32(Buffer.from(endpoint, 'utf8'));
}

/**
 * The weight of bucket `bucket` for the endpoint whose seed is `seed`: murmur3_x86_32 of the
 * bucket as 4 little-endian bytes, with that seed. `scratch` is 4 bytes the caller reuses.
 */
function weight(bucket: number, seed: number, scratch: Uint8Array): number {
  scratch[0] = bucket & 0xff;
  scratch[1] = (bucket >>> 8) & 0xff;
  scratch[2] = (bucket >>> 16) & 0xff;
  scratch[3] = bucket >>> 24;
  return murmur3x86_32(scratch, seed);
}

/**
 * The shard table of `endpoints` with only the `live` ones taking flows: entry `b` (one per
 * value of the flow hash's top 16 bits, NFLOG_SHARD_BUCKETS of them) is the index in
 * `endpoints` of the live endpoint with the highest weight for `b`; equal weights go to the
 * endpoint whose string sorts first, so the order of the list does not matter. Rebuilt only when
 * the live set changes (about 65536 × endpoints hashes, a few ms).
 * @param out written in place and returned (default: a new table)
 * @throws RangeError when no endpoint is live, or the two lists differ in length
 */
export function rendezvousTable(
  endpoints: readonly string[],
  live: readonly boolean[],
  out: Uint8Array = new Uint8Array(NFLOG_SHARD_BUCKETS),
): Uint8Array {
  if (live.length !== endpoints.length)
    throw new RangeError(`live has ${live.length} entries for ${endpoints.length} endpoints`);
  const candidates = endpoints.flatMap((e, i) => (live[i] === true ? [i] : []));
  if (candidates.length === 0) throw new RangeError('no live endpoint to route flows to');
  const seeds = candidates.map((i) => endpointSeed(endpoints[i]!));
  const scratch = new Uint8Array(4);
  for (let b = 0; b < NFLOG_SHARD_BUCKETS; b++) {
    let best = candidates[0]!;
    let bestWeight = weight(b, seeds[0]!, scratch);
    for (let k = 1; k < candidates.length; k++) {
      const w = weight(b, seeds[k]!, scratch);
      const i = candidates[k]!;
      if (w > bestWeight || (w === bestWeight && endpoints[i]! < endpoints[best]!)) {
        best = i;
        bestWeight = w;
      }
    }
    out[b] = best;
  }
  return out;
}
