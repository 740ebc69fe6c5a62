// Proves the shard table (rendezvous hashing over the endpoint strings): the same on every build whatever the list order, even within a few percent, and when an endpoint is taken out only its buckets move, spread over the others, and all of them come back when it returns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NFLOG_SHARD_BUCKETS, murmur3x86_32 } from '@nflog-pipe/nflog-native';
import { endpointSeed, rendezvousTable } from '../src/index.js';

const ALL = (n: number): boolean[] => Array<boolean>(n).fill(true);

/** How many buckets each endpoint owns. */
function shares(table: Uint8Array, n: number): number[] {
  const out = Array<number>(n).fill(0);
  for (const s of table) out[s]!++;
  return out;
}

test('pinned: a fleet of senders of different versions must agree on where a flow goes', () => {
  const eps = ['tcp://ids1.example:5555', 'tcp://ids2.example:5555', 'tcp://ids3.example:5555'];
  // murmur3_x86_32 of the UTF-8 text, seed 0 (sender README, "Sharding").
  assert.equal(endpointSeed(eps[0]!), 0x8029887d);
  const t = rendezvousTable(eps, ALL(3));
  const buckets = [0, 1, 2, 3, 1000, 12345, 40000, 65535];
  assert.deepEqual(
    buckets.map((b) => t[b]),
    PINNED,
  );
  // The documented rule, worked by hand: the highest murmur3_x86_32(bucket as 4 LE bytes,
  // seed = endpoint seed) wins.
  for (const b of buckets) {
    const le = Buffer.alloc(4);
    le.writeUInt32LE(b);
    const w = eps.map((e) => murmur3x86_32(le, murmur3x86_32(Buffer.from(e))));
    assert.equal(t[b], w.indexOf(Math.max(...w)), `bucket ${b}`);
  }
});

/** Computed once from the documented algorithm and kept: a change here moves flows between IDS hosts. */
const PINNED = [0, 2, 1, 1, 2, 0, 0, 1];

test('the order of the list does not change which endpoint owns a bucket', () => {
  const eps = ['ipc:///run/a.sock', 'tcp://10.0.0.2:5555', 'tcp://[fd00::3]:5555', 'ws://x:1'];
  const t = rendezvousTable(eps, ALL(4));
  const rev = [...eps].reverse();
  const r = rendezvousTable(rev, ALL(4));
  for (let b = 0; b < NFLOG_SHARD_BUCKETS; b++) assert.equal(eps[t[b]!], rev[r[b]!]);
});

test('each of 2, 3 and 4 endpoints owns its share of the buckets within 5 %', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 2, maxLength: 4 }),
      (eps) => {
        const even = NFLOG_SHARD_BUCKETS / eps.length;
        for (const n of shares(rendezvousTable(eps, ALL(eps.length)), eps.length))
          assert.ok(Math.abs(n - even) < 0.05 * even, `${n} of ${even}: ${JSON.stringify(eps)}`);
      },
    ),
    { numRuns: 30 },
  );
});

test('taking an endpoint out moves only its buckets, evenly, and returning it moves them back', () => {
  const eps = ['tcp://127.0.0.1:7001', 'tcp://127.0.0.1:7002', 'tcp://127.0.0.1:7003'];
  const all = rendezvousTable(eps, ALL(3));
  const without1 = rendezvousTable(eps, [true, false, true]);
  const moved = [0, 0, 0];
  for (let b = 0; b < NFLOG_SHARD_BUCKETS; b++) {
    assert.notEqual(without1[b], 1);
    if (all[b] !== 1) assert.equal(without1[b], all[b], `bucket ${b} of a live shard stays`);
    else moved[without1[b]!]!++;
  }
  const out = shares(all, 3)[1]!;
  assert.equal(moved[0]! + moved[2]!, out);
  for (const k of [0, 2]) assert.ok(Math.abs(moved[k]! - out / 2) < 0.05 * out, `${moved[k]}`);
  // In place, as the router rebuilds it; then everything is where it was.
  assert.deepEqual(rendezvousTable(eps, ALL(3), without1), all);
  assert.throws(() => rendezvousTable(eps, [false, false, false]), RangeError);
  assert.throws(() => rendezvousTable(eps, [true]), RangeError);
});
