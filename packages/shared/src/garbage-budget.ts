// Bounds the Buffers a process has dropped but V8 has not yet freed. The sender and the
// receiver move their data in large Buffers with few small JavaScript objects beside them: per
// kernel read the sender makes two (the read's records, from nflog-native, and the v1 frame
// they are copied into, which ZeroMQ sends without a copy), and the receiver is handed one per
// ZeroMQ message. V8's young generation then fills slowly: measured in the sender at the
// bench's maximum with 64-byte packets, ~3 scavenges per second, and 32-52 MiB of dead Buffers
// waited in malloc for the next one (V8 collects for Buffer memory by itself only past a 64 MiB
// soft limit). A larger or smaller `--max-semi-space-size` does not change that (the young
// generation is not what fills), and V8 ignores it once running anyway. A young-generation
// collection after every `budgetBytes` of such Buffers frees them while they are young.
// Figures: docs/operations.md, "Memory of the sender", and the receiver's README, "Memory".

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's `gc()` (what `--expose-gc` installs): with `{ type: 'minor' }` a young-generation
 * collection; without options a full one. (Node 20's V8 runs a young-generation collection for
 * `{ type: 'major' }` too: seen with --trace-gc, so that option is never used.)
 */
type V8Gc = (options?: { type: 'minor' }) => void;

let v8Gc: V8Gc | undefined;

/**
 * V8's collector as a function. `--expose-gc` set at run time applies to contexts made after
 * it, so a throwaway context hands `gc` over (as jest's leak detector does); done once, on
 * first use, so start-up does not pay for a context.
 */
function collector(): V8Gc {
  if (v8Gc !== undefined) return v8Gc;
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') {
    v8Gc = existing as V8Gc;
  } else {
    setFlagsFromString('--expose-gc');
    v8Gc = runInNewContext('gc') as V8Gc;
  }
  return v8Gc;
}

/**
 * Default {@link GarbageBudget} size, bytes. 8 MiB measured best: 4 MiB held more at 1400 B
 * (collections that often promote frames still queued in ZeroMQ, which then wait for a full
 * collection).
 */
export const GARBAGE_BUDGET_DEFAULT_BYTES = 8 * 1024 * 1024;

/** Default shortest time between two collections, ms (at most 20 per second). */
export const GARBAGE_MIN_INTERVAL_DEFAULT_MS = 50;

/**
 * Which collection a {@link GarbageBudget} runs: `minor` (the young generation) for Buffers
 * dropped soon after they were made; `major` (the whole heap) for Buffers that lived long
 * enough to be promoted, which only a full collection frees (the receiver's ring segments).
 */
export type GarbageGeneration = 'minor' | 'major';

/**
 * Counts the bytes of large Buffers dropped and runs a collection once `budgetBytes` have been
 * dropped since the last, but not within `minIntervalMs` of it (a young-generation collection
 * costs ~0.5-1 ms with frames queued in ZeroMQ: at 1400-byte packets and the bench's maximum,
 * an uncapped 8 MiB budget ran ~70 per second, ~6 % of a core). Call {@link note} once per
 * read, message or segment (never per packet). `budgetBytes` 0 turns it off.
 */
export class GarbageBudget {
  readonly #budgetBytes: number;
  readonly #minIntervalMs: number;
  readonly #generation: GarbageGeneration;
  #dueBytes = 0;
  #lastMs = -Infinity;
  #collections = 0;

  /** @throws RangeError unless `budgetBytes` and `minIntervalMs` are safe integers >= 0 */
  constructor(
    budgetBytes: number = GARBAGE_BUDGET_DEFAULT_BYTES,
    minIntervalMs: number = GARBAGE_MIN_INTERVAL_DEFAULT_MS,
    generation: GarbageGeneration = 'minor',
  ) {
    for (const [name, v] of [
      ['budgetBytes', budgetBytes],
      ['minIntervalMs', minIntervalMs],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new RangeError(`${name} must be an integer >= 0, got ${v}`);
    }
    this.#budgetBytes = budgetBytes;
    this.#minIntervalMs = minIntervalMs;
    this.#generation = generation;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** `bytes` more of Buffers are garbage (or soon will be); collects when the budget is spent. */
  note(bytes: number): void {
    if (this.#budgetBytes === 0) return;
    this.#dueBytes += bytes;
    if (this.#dueBytes < this.#budgetBytes) return;
    const nowMs = performance.now();
    if (nowMs - this.#lastMs < this.#minIntervalMs) return;
    this.#lastMs = nowMs;
    this.#dueBytes = 0;
    this.#collections++;
    if (this.#generation === 'minor') collector()({ type: 'minor' });
    else collector()();
  }
}
