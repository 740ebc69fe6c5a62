// The records a ReorderWindow holds, as numbers in typed arrays (one slot per record: its batch,
// where it lies in that batch, its timestamp and its order key), never as one JS object per
// packet. The batches themselves (the ZeroMQ message or inflated buffer the records lie in) are
// referenced, not copied: a record is copied once, when it is released into an output batch.

/** One batch the window references: its buffer, when it arrived, how many of it are still held. */
interface HeldBatch {
  /** The records section, referenced until its last record is released; then null. */
  buf: Buffer | null;
  /** Receiver clock when it arrived, ms. */
  readonly arrivalMs: number;
  /** Records of it still held. */
  remaining: number;
}

/** First capacity of the slot arrays, records; they double as needed. */
const FIRST_SLOTS = 1024;
/** Slot arrays longer than this are let go when nothing is held any more. */
const SHRINK_SLOTS = 65536;
/** Finished batches kept at the front of the batch list before it is compacted. */
const COMPACT_BATCHES = 1024;

/**
 * Slots of held records and the batches they lie in.
 *
 * Slot fields (index = slot): `batch` (the batch's id), `offset` and `length` (the whole record,
 * header included, within the batch's buffer), `sec`/`frac` (its pcap timestamp), `key` (the
 * order within its stream: an unwrapped NFULA_SEQ_GLOBAL, or unused) and `ordinal` (arrival
 * order, which breaks ties). The arrays are read directly by the heaps and the window (hot
 * loops), and replaced when they grow: read them through this object, never keep a copy.
 *
 * Batches are kept in arrival order: the oldest one with records still held sets the window's
 * time bound (`oldestArrivalMs`). A batch's buffer is let go as soon as its last record is
 * released, so `heldBytes` (the sum of the buffers still referenced) is the memory the window
 * keeps alive.
 */
export class HeldRecords {
  batch!: Float64Array;
  offset!: Uint32Array;
  length!: Uint32Array;
  sec!: Uint32Array;
  frac!: Uint32Array;
  key!: Float64Array;
  ordinal!: Float64Array;
  #free!: Int32Array;
  #freeCount = 0;
  #used = 0; // slots ever handed out (the free list holds those given back)
  #ordinal = 0;
  #batches: HeldBatch[] = [];
  #batchBase = 0; // id of #batches[0]
  #batchHead = 0; // index in #batches of the oldest batch with records held
  #packets = 0;
  #bytes = 0;

  constructor() {
    this.#allocate(FIRST_SLOTS);
  }

  /** Records held. */
  get packets(): number {
    return this.#packets;
  }

  /** Bytes of the batch buffers still referenced (whole buffers, not only the held records). */
  get heldBytes(): number {
    return this.#bytes;
  }

  /**
   * Starts a batch of `count` records in `buf` (a whole records section), arriving at
   * `arrivalMs`; returns its id for {@link add}.
   */
  addBatch(buf: Buffer, count: number, arrivalMs: number): number {
    this.#batches.push({ buf, arrivalMs, remaining: count });
    this.#bytes += buf.length;
    return this.#batchBase + this.#batches.length - 1;
  }

  /** Takes a slot for the record at `offset..offset+length` of batch `batchId`; returns it. */
  add(
    batchId: number,
    offset: number,
    length: number,
    sec: number,
    frac: number,
    key: number,
  ): number {
    let slot: number;
    if (this.#freeCount > 0) slot = this.#free[--this.#freeCount]!;
    else {
      if (this.#used === this.batch.length) this.#grow();
      slot = this.#used++;
    }
    this.batch[slot] = batchId;
    this.offset[slot] = offset;
    this.length[slot] = length;
    this.sec[slot] = sec;
    this.frac[slot] = frac;
    this.key[slot] = key;
    this.ordinal[slot] = this.#ordinal++;
    this.#packets++;
    return slot;
  }

  /** The buffer of the batch `slot` lies in (still referenced while the slot is held). */
  bufferOf(slot: number): Buffer {
    return this.#batches[this.batch[slot]! - this.#batchBase]!.buf!;
  }

  /**
   * Gives `slot` back (its record was released). The last record of a batch lets its buffer go.
   */
  release(slot: number): void {
    const b = this.#batches[this.batch[slot]! - this.#batchBase]!;
    if (--b.remaining === 0) {
      this.#bytes -= b.buf!.length;
      b.buf = null;
    }
    this.#packets--;
    this.#free[this.#freeCount++] = slot; // never full: it is as long as the slot arrays
    if (this.#packets === 0) this.#reset();
  }

  /** Nothing held: every slot and batch is free; the memory of a burst is given back. */
  #reset(): void {
    this.#batchBase += this.#batches.length;
    this.#batches = [];
    this.#batchHead = 0;
    this.#freeCount = 0;
    this.#used = 0;
    if (this.batch.length > SHRINK_SLOTS) this.#allocate(FIRST_SLOTS);
  }

  /** Arrival time of the oldest batch with records still held, ms; Infinity when none is. */
  oldestArrivalMs(): number {
    const list = this.#batches;
    while (this.#batchHead < list.length && list[this.#batchHead]!.remaining === 0)
      this.#batchHead++;
    if (this.#batchHead >= COMPACT_BATCHES && this.#batchHead * 2 >= list.length) {
      list.splice(0, this.#batchHead);
      this.#batchBase += this.#batchHead;
      this.#batchHead = 0;
    }
    return this.#batchHead < list.length ? list[this.#batchHead]!.arrivalMs : Infinity;
  }

  /** Fresh, empty slot arrays of `n` slots. */
  #allocate(n: number): void {
    this.batch = new Float64Array(n);
    this.offset = new Uint32Array(n);
    this.length = new Uint32Array(n);
    this.sec = new Uint32Array(n);
    this.frac = new Uint32Array(n);
    this.key = new Float64Array(n);
    this.ordinal = new Float64Array(n);
    this.#free = new Int32Array(n);
  }

  #grow(): void {
    const n = this.batch.length * 2;
    const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.batch = grow(this.batch, (k) => new Float64Array(k));
    this.offset = grow(this.offset, (k) => new Uint32Array(k));
    this.length = grow(this.length, (k) => new Uint32Array(k));
    this.sec = grow(this.sec, (k) => new Uint32Array(k));
    this.frac = grow(this.frac, (k) => new Uint32Array(k));
    this.key = grow(this.key, (k) => new Float64Array(k));
    this.ordinal = grow(this.ordinal, (k) => new Float64Array(k));
    const free = new Int32Array(n);
    free.set(this.#free);
    this.#free = free;
  }
}
