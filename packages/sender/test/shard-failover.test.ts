// Proves the failover decisions with a clock given: a shard unhealthy (no receiver, or its queue full) for the whole failover time goes out, a break restarts the count, an out shard connected again for that long comes back, its stale queue state is ignored while out, and the last live shard is never taken out (said once).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardFailover, type ShardFailoverEvent, type ShardHealth } from '../src/index.js';

const OK: ShardHealth = { connected: true, queueFull: false };
const GONE: ShardHealth = { connected: false, queueFull: false };
const FULL: ShardHealth = { connected: true, queueFull: true };
/** Out shards are judged by connection only: a queue refusal from before says nothing now. */
const BACK_STALE: ShardHealth = { connected: true, queueFull: true };

function make(
  shards: number,
  failoverMs = 1000,
): { f: ShardFailover; events: ShardFailoverEvent[] } {
  const events: ShardFailoverEvent[] = [];
  const f = new ShardFailover({ shards, failoverMs, onEvent: (e) => events.push(e) });
  return { f, events };
}

test('a shard without a receiver for the failover time goes out; until then nothing moves', () => {
  const { f, events } = make(3);
  for (let t = 0; t < 1000; t += 250) f.observe([OK, GONE, OK], t);
  assert.deepEqual(events, []);
  assert.deepEqual(f.live, [true, true, true]);
  f.observe([OK, GONE, OK], 1000);
  assert.deepEqual(events, [{ type: 'out', shard: 1, why: 'no receiver', unhealthyMs: 1000 }]);
  assert.deepEqual(f.live, [true, false, true]);
  // Out: still gone, nothing more to say.
  f.observe([OK, GONE, OK], 5000);
  assert.equal(events.length, 1);
});

test('a full queue counts as unhealthy while live; a break in the trouble restarts the count', () => {
  const { f, events } = make(2);
  f.observe([FULL, OK], 0);
  f.observe([FULL, OK], 900);
  f.observe([OK, OK], 950); // one message accepted: the queue had room again
  f.observe([FULL, OK], 1000);
  f.observe([GONE, OK], 1900);
  assert.deepEqual(events, []);
  f.observe([FULL, OK], 2000);
  assert.deepEqual(events, [{ type: 'out', shard: 0, why: 'queue full', unhealthyMs: 1000 }]);
});

test('an out shard comes back once connected for the failover time, its old queue state ignored', () => {
  const { f, events } = make(3);
  f.observe([GONE, OK, OK], 0);
  f.observe([GONE, OK, OK], 1000);
  assert.deepEqual(f.live, [false, true, true]);
  f.observe([BACK_STALE, OK, OK], 3000);
  f.observe([GONE, OK, OK], 3500); // flapped: the count starts again
  f.observe([BACK_STALE, OK, OK], 4000);
  f.observe([BACK_STALE, OK, OK], 4999);
  assert.deepEqual(f.live, [false, true, true]);
  f.observe([BACK_STALE, OK, OK], 5000);
  assert.deepEqual(events.at(-1), { type: 'in', shard: 0, connectedMs: 1000 });
  assert.deepEqual(f.live, [true, true, true]);
  // Live again: healthy samples say nothing; trouble starts a new count from scratch.
  f.observe([OK, OK, OK], 5100);
  f.observe([GONE, OK, OK], 5200);
  f.observe([GONE, OK, OK], 6199);
  assert.equal(events.length, 2);
  f.observe([GONE, OK, OK], 6200);
  assert.equal(events.at(-1)?.type, 'out');
});

test('the last live shard is never taken out; it is said once, and it may go once another returns', () => {
  const { f, events } = make(2);
  f.observe([GONE, GONE], 0);
  f.observe([GONE, GONE], 1000);
  // Shard 0 went first; shard 1 is the last live one.
  assert.deepEqual(events, [
    { type: 'out', shard: 0, why: 'no receiver', unhealthyMs: 1000 },
    { type: 'kept', shard: 1, why: 'no receiver' },
  ]);
  f.observe([GONE, GONE], 2000);
  f.observe([GONE, GONE], 3000);
  assert.equal(events.length, 2, 'kept is said once per spell');
  f.observe([OK, GONE], 3000);
  f.observe([OK, GONE], 4000);
  assert.deepEqual(events.slice(2), [
    { type: 'in', shard: 0, connectedMs: 1000 },
    { type: 'out', shard: 1, why: 'no receiver', unhealthyMs: 4000 },
  ]);
  assert.deepEqual(f.live, [true, false]);
});

test('bad options and samples are refused', () => {
  assert.throws(() => make(0), RangeError);
  assert.throws(() => make(2, 0), RangeError);
  assert.throws(() => make(2, Number.NaN), RangeError);
  const { f } = make(2);
  assert.throws(() => f.observe([OK], 0), RangeError);
});
