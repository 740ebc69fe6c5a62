import { recordEnd } from '@nflog-pipe/pcap-writer';

/** One stored batch: a records section exactly as received (a view, never a per-packet copy). */
export interface RingBatch {
  /** Whole pcap records (LE headers), back to back. */
  readonly records: Buffer;
  /** Number of records in `records`. */
  readonly count: number;
}

/** Counters of a {@link RingBuffer}. */
export interface RingBufferStats {
  /** Records currently held. */
  packets: number;
  /** Bytes currently held (record headers + data), at most `windowBytes`. */
  bytes: number;
  /** Batches currently held. */
  batches: number;
  /** Records trimmed away since start, to stay within the window. */
  trimmedPackets: number;
}

/**
 * The most recent traffic, kept as the batches it arrived in and trimmed by bytes.
 *
 * Each `push()` stores a reference to the caller's records buffer (no copy). Trimming drops
 * whole batches from the old end and, when only part of the oldest batch must go, keeps a
 * `subarray` view that starts at a record boundary, so the ring always holds exactly the newest
 * records whose total size (16-byte record headers included) fits `windowBytes`. A view keeps
 * its whole parent buffer alive, so memory held can exceed the window by at most one batch.
 */
export class RingBuffer {
  readonly #windowBytes: number;
  #batches: RingBatch[] = [];
  #head = 0; // index of the oldest live batch in #batches (compacted lazily)
  #bytes = 0;
  #packets = 0;
  #trimmedPackets = 0;

  /**
   * @param windowBytes most bytes of records to keep (record headers included); 0 keeps nothing.
   * @throws RangeError if `windowBytes` is not a non-negative integer.
   */
  constructor(windowBytes: number) {
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 0) {
      throw new RangeError(`windowBytes must be a non-negative integer, got ${windowBytes}`);
    }
    this.#windowBytes = windowBytes;
  }

  /** The configured window, bytes. */
  get windowBytes(): number {
    return this.#windowBytes;
  }

  /**
   * Append one batch of whole records and trim the oldest records beyond the window. The
   * buffer is referenced, not copied: never modify it afterwards.
   *
   * @param records whole pcap records (validated by the caller, e.g. by the frame decoder)
   * @param count number of records in `records`
   */
  push(records: Buffer, count: number): void {
    if (count === 0 || records.length === 0) return;
    this.#batches.push({ records, count });
    this.#bytes += records.length;
    this.#packets += count;
    this.#trim();
  }

  /**
   * The batches currently held, oldest first. The array is a fresh snapshot (later pushes do not
   * change it); the buffers are shared views and must not be modified.
   */
  snapshot(): RingBatch[] {
    return this.#batches.slice(this.#head);
  }

  /** Current counters. */
  stats(): RingBufferStats {
    return {
      packets: this.#packets,
      bytes: this.#bytes,
      batches: this.#batches.length - this.#head,
      trimmedPackets: this.#trimmedPackets,
    };
  }

  #trim(): void {
    while (this.#bytes > this.#windowBytes) {
      const oldest = this.#batches[this.#head]!;
      const excess = this.#bytes - this.#windowBytes;
      if (oldest.records.length <= excess) {
        this.#dropOldest(oldest.records.length, oldest.count);
        continue;
      }
      // Cut the oldest batch at the first record boundary that removes at least `excess` bytes
      // (a walk of its first records only; the batch was checked when it arrived).
      const buf = oldest.records;
      let offset = 0;
      let cut = 0;
      for (let end; offset < excess && (end = recordEnd(buf, offset)) > 0; offset = end) cut++;
      // (Short of `excess` only if the walk hit damaged bytes: then the whole batch goes.)
      if (offset >= buf.length || offset < excess) {
        this.#dropOldest(buf.length, oldest.count);
        continue;
      }
      this.#batches[this.#head] = { records: buf.subarray(offset), count: oldest.count - cut };
      this.#bytes -= offset;
      this.#packets -= cut;
      this.#trimmedPackets += cut;
    }
  }

  #dropOldest(bytes: number, count: number): void {
    this.#bytes -= bytes;
    this.#packets -= count;
    this.#trimmedPackets += count;
    this.#head++;
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#batches.length) {
      this.#batches = this.#batches.slice(this.#head);
      this.#head = 0;
    }
  }
}
