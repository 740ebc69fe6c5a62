// GarbageBudget collects once per budget of dropped Buffers, and that collection frees them:
// what keeps the sender's and the receiver's RSS from holding tens of MiB of dead reads,
// frames and messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { GarbageBudget } from '../src/index.js';

const MiB = 1024 * 1024;

// V8 frees a collection's dead backing stores on a helper thread by default; in this test
// process it frees them within the collection, so the figure read right after is final.
setFlagsFromString('--no-concurrent-array-buffer-sweeping');

/** Drops `n` fresh 1 MiB Buffers (not pooled: each its own backing store), noting each. */
function dropBuffers(budget: GarbageBudget, n: number): void {
  for (let i = 0; i < n; i++) {
    Buffer.allocUnsafeSlow(MiB).fill(i);
    budget.note(MiB);
  }
}

test('one young-generation collection per budget, and it frees the dropped Buffers', async () => {
  const budget = new GarbageBudget(8 * MiB, 0);
  // Let start-up garbage settle, so the figure below is this test's Buffers alone.
  await delay(10);
  const before = process.memoryUsage().arrayBuffers;
  dropBuffers(budget, 7);
  assert.equal(budget.collections, 0);
  dropBuffers(budget, 1);
  assert.equal(budget.collections, 1);
  // Without the collection all 8 MiB would stay held (V8 waits for 64 MiB by itself).
  const heldBytes = process.memoryUsage().arrayBuffers - before;
  assert.ok(heldBytes <= 2 * MiB, `${heldBytes} bytes of dropped Buffers still held`);
  dropBuffers(budget, 16);
  assert.equal(budget.collections, 3);
});

test('budget 0 never collects; a bad budget is a RangeError', () => {
  const off = new GarbageBudget(0);
  dropBuffers(off, 4);
  assert.equal(off.collections, 0);
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new GarbageBudget(bad), RangeError);
    assert.throws(() => new GarbageBudget(MiB, bad), RangeError);
  }
});

test('no two collections within minIntervalMs, however much is dropped', () => {
  const budget = new GarbageBudget(MiB, 60_000);
  dropBuffers(budget, 8);
  assert.equal(budget.collections, 1);
});

test("'major' runs a full collection: it frees Buffers that outlived two young collections", async () => {
  await delay(10);
  const young = new GarbageBudget(MiB, 0);
  const full = new GarbageBudget(8 * MiB, 0, 'major');
  // Kept through two young-generation collections, these are old objects when dropped.
  let kept: Buffer[] | null = Array.from({ length: 8 }, () => Buffer.allocUnsafeSlow(MiB).fill(1));
  young.note(MiB);
  young.note(MiB);
  assert.equal(young.collections, 2);
  const before = process.memoryUsage().arrayBuffers;
  kept = null;
  // A young collection does not free old objects...
  young.note(MiB);
  const afterMinor = process.memoryUsage().arrayBuffers;
  assert.ok(before - afterMinor < 2 * MiB, `a young collection freed ${before - afterMinor} bytes`);
  // ...a full one does.
  for (let i = 0; i < 8; i++) full.note(MiB);
  assert.equal(full.collections, 1);
  const freed = before - process.memoryUsage().arrayBuffers;
  assert.ok(freed >= 7 * MiB, `the full collection freed ${freed} bytes of 8 MiB`);
  assert.equal(kept, null);
});
