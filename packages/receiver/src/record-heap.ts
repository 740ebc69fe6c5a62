// A binary min-heap of HeldRecords slots: the order of one stream of a ReorderWindow. Slots are
// plain numbers in an Int32Array and the keys are read from the HeldRecords arrays, so a push or
// a pop allocates nothing and costs O(log n) comparisons whatever order records arrive in (a
// hostile sender cannot make it quadratic).

import type { HeldRecords } from './held-records.js';

/** First capacity of a heap, slots; it doubles as needed. */
const FIRST_SLOTS = 64;
/** A heap that empties with more room than this lets it go. */
const SHRINK_SLOTS = 4096;

/** How a {@link RecordHeap} orders its records. */
export type RecordOrder =
  /** By `key` (an unwrapped NFULA_SEQ_GLOBAL), then arrival. */
  | 'seq'
  /** By timestamp (`sec`, then `frac`), then arrival. */
  | 'time';

/** A min-heap of the slots of one stream, ordered by `order`. */
export class RecordHeap {
  readonly #held: HeldRecords;
  readonly #bySeq: boolean;
  #heap = new Int32Array(FIRST_SLOTS);
  #size = 0;

  constructor(held: HeldRecords, order: RecordOrder) {
    this.#held = held;
    this.#bySeq = order === 'seq';
  }

  /** Records in the heap. */
  get size(): number {
    return this.#size;
  }

  /** The first slot in order; only when `size > 0`. */
  peek(): number {
    return this.#heap[0]!;
  }

  push(slot: number): void {
    if (this.#size === this.#heap.length) {
      const bigger = new Int32Array(this.#heap.length * 2);
      bigger.set(this.#heap);
      this.#heap = bigger;
    }
    const h = this.#heap;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!this.#before(slot, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = slot;
  }

  /** Removes and returns the first slot; only when `size > 0`. */
  pop(): number {
    const h = this.#heap;
    const top = h[0]!;
    const last = h[--this.#size]!;
    const n = this.#size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#before(h[r]!, h[l]!) ? r : l;
      if (!this.#before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    if (n > 0) h[i] = last;
    // Empty after a burst: give the memory back (a window may have many streams).
    else if (h.length > SHRINK_SLOTS) this.#heap = new Int32Array(FIRST_SLOTS);
    return top;
  }

  /** Whether slot `a` comes before slot `b`. */
  #before(a: number, b: number): boolean {
    const s = this.#held;
    if (this.#bySeq) {
      const ka = s.key[a]!;
      const kb = s.key[b]!;
      if (ka !== kb) return ka < kb;
    } else {
      const sa = s.sec[a]!;
      const sb = s.sec[b]!;
      if (sa !== sb) return sa < sb;
      const fa = s.frac[a]!;
      const fb = s.frac[b]!;
      if (fa !== fb) return fa < fb;
    }
    return s.ordinal[a]! < s.ordinal[b]!;
  }
}
