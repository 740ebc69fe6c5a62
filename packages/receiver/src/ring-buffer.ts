import { LINKTYPE_RAW, recordEnd } from '@nflog-pipe/pcap-writer';
import { GarbageBudget } from '@nflog-pipe/shared';

/**
 * Default size of one segment of the ring's arena, bytes (2 MiB: the ring's slack, a few
 * segments, and what it lets go at a time stay small; measured 4 MiB: peak + 5 MiB). A record
 * never spans two.
 */
export const RING_SEGMENT_BYTES = 2 * 1024 * 1024;

/**
 * A segment a dump saw is let go, not reused, once its records are trimmed, and a fresh one
 * takes its place: under load one per segment received, for a whole turn of the ring after a full
 * dump. By then it is an old object, which only a full collection frees, and V8 runs one for
 * Buffer memory by itself only about 50 MiB later (measured: the let-go segments piled up to
 * 44-52 MiB between its collections). A full collection (a few ms: the heap holds little but
 * the ring's index) after every 16 MiB let go, at most ten a second, frees them once nothing
 * views them. One budget per process: the heap is the process's.
 */
const letGoGarbage = new GarbageBudget(16 * 1024 * 1024, 100, 'major');

/** One stored batch: whole records, a view into the ring's own memory. */
export interface RingBatch {
  /** Whole pcap records (LE headers), back to back. */
  readonly records: Buffer;
  /** Number of records in `records`. */
  readonly count: number;
  /** pcap linktype of these records, as they arrived (101 raw IP, 239 NFLOG). */
  readonly linktype: number;
}

/** Counters of a {@link RingBuffer}. */
export interface RingBufferStats {
  /** Records currently held. */
  packets: number;
  /** Bytes currently held (record headers + data), at most `windowBytes`. */
  bytes: number;
  /** Batches currently held (a batch copied across two segments counts twice). */
  batches: number;
  /** Records trimmed away since start, to stay within the window. */
  trimmedPackets: number;
  /** Bytes of arena memory the ring holds now (its segments), whatever it keeps in them. */
  arenaBytes: number;
}

/** Options of {@link RingBuffer}. */
export interface RingBufferOptions {
  /**
   * Size of one arena segment, bytes (default RING_SEGMENT_BYTES, or `windowBytes` when that is
   * smaller). A record larger than a segment cannot be kept (it is counted as trimmed).
   */
  segmentBytes?: number;
}

/** A piece of the arena: records are appended at `used`; `live` entries point into it. */
interface Segment {
  readonly buf: Buffer;
  used: number;
  live: number;
  /** A view into it went out in a snapshot: its bytes must never be written over again. */
  exposed: boolean;
}

/** Whole records held in one segment, `[start, end)`. */
interface Entry {
  readonly seg: Segment;
  start: number;
  readonly end: number;
  count: number;
  readonly linktype: number;
}

/**
 * The most recent traffic, kept in memory the ring owns and trimmed by bytes: exactly the newest
 * records whose total size (16-byte record headers included) fits `windowBytes`.
 *
 * Each `push()` copies the records into the arena: segments of `segmentBytes` filled in order,
 * a record never split between two. Nothing keeps the caller's buffer (a ZeroMQ message, an
 * inflated frame) alive, so the ring's memory is its segments: the window, plus the segments it
 * is filling and emptying (at most about two segments more) and one spare kept for reuse.
 *
 * Dumps read the arena without copying (`snapshot()` returns views), and a view handed out stays
 * byte-exact for as long as anyone holds it: zeromq.js sends large buffers zero-copy and reads
 * them after `send()` resolved, so a segment a snapshot has seen is never written over; once
 * its records have all been trimmed it is let go (and freed when the last view is), and a fresh
 * segment takes its place. Only segments no snapshot saw are reused.
 */
export class RingBuffer {
  readonly #windowBytes: number;
  readonly #segmentBytes: number;
  #entries: Entry[] = [];
  #head = 0; // index of the oldest live entry in #entries (compacted lazily)
  #current: Segment | null = null;
  #spare: Segment | null = null;
  #arenaBytes = 0;
  #bytes = 0;
  #packets = 0;
  #trimmedPackets = 0;

  /**
   * @param windowBytes most bytes of records to keep (record headers included); 0 keeps nothing.
   * @throws RangeError if `windowBytes` is not a non-negative integer, or `segmentBytes` not a
   *   positive one.
   */
  constructor(windowBytes: number, options: RingBufferOptions = {}) {
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 0) {
      throw new RangeError(`windowBytes must be a non-negative integer, got ${windowBytes}`);
    }
    const segmentBytes = options.segmentBytes ?? Math.min(RING_SEGMENT_BYTES, windowBytes);
    if (!Number.isSafeInteger(segmentBytes) || (segmentBytes < 1 && windowBytes > 0)) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    this.#windowBytes = windowBytes;
    this.#segmentBytes = segmentBytes;
  }

  /** The configured window, bytes. */
  get windowBytes(): number {
    return this.#windowBytes;
  }

  /**
   * Copy one batch of whole records into the ring and trim the oldest records beyond the window.
   * The caller's buffer is not kept. A batch larger than the window keeps its newest records.
   *
   * @param records whole pcap records (validated by the caller, e.g. by the frame decoder)
   * @param count number of records in `records`
   * @param linktype their pcap linktype, kept with them (a dump may convert). Default 101.
   */
  push(records: Buffer, count: number, linktype: number = LINKTYPE_RAW): void {
    if (count === 0 || records.length === 0) return;
    const length = records.length;
    let offset = 0;
    let left = count;
    // Only the newest records that fit the window can stay: skip the others without copying.
    while (length - offset > this.#windowBytes && left > 0) {
      offset = recordEnd(records, offset);
      left--;
      this.#trimmedPackets++;
    }
    while (left > 0) {
      let seg = this.#current;
      if (seg === null || seg.used === this.#segmentBytes) seg = this.#nextSegment();
      const room = this.#segmentBytes - seg.used;
      let end = length;
      let n = left;
      if (length - offset > room) {
        // Split at the last record boundary that fits (a walk of this batch only here).
        end = offset;
        n = 0;
        for (let e; n < left && (e = recordEnd(records, end)) - offset <= room; end = e) n++;
        if (n === 0) {
          if (seg.used === 0) {
            // A record larger than a whole segment: it cannot be kept.
            offset = recordEnd(records, offset);
            left--;
            this.#trimmedPackets++;
          } else {
            seg = this.#nextSegment();
          }
          continue;
        }
      }
      const bytes = end - offset;
      records.copy(seg.buf, seg.used, offset, end);
      this.#entries.push({ seg, start: seg.used, end: seg.used + bytes, count: n, linktype });
      seg.used += bytes;
      seg.live++;
      this.#bytes += bytes;
      this.#packets += n;
      offset = end;
      left -= n;
      this.#trim();
    }
  }

  /**
   * The batches currently held, oldest first: views into the arena, not copies. The array is a
   * fresh snapshot (later pushes do not change it) and the views stay byte-exact as long as they
   * are held, whatever is pushed later; they must not be modified.
   */
  snapshot(): RingBatch[] {
    const out: RingBatch[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      e.seg.exposed = true;
      out.push({
        records: e.seg.buf.subarray(e.start, e.end),
        count: e.count,
        linktype: e.linktype,
      });
    }
    return out;
  }

  /** Current counters. */
  stats(): RingBufferStats {
    return {
      packets: this.#packets,
      bytes: this.#bytes,
      batches: this.#entries.length - this.#head,
      trimmedPackets: this.#trimmedPackets,
      arenaBytes: this.#arenaBytes,
    };
  }

  /** Seal the current segment and start filling another (the spare, or fresh memory). */
  #nextSegment(): Segment {
    const old = this.#current;
    let seg = this.#spare;
    this.#spare = null;
    if (seg === null) {
      // Never pooled memory: a view of it may be handed to zeromq.js send().
      seg = { buf: Buffer.allocUnsafeSlow(this.#segmentBytes), used: 0, live: 0, exposed: false };
      this.#arenaBytes += this.#segmentBytes;
    }
    this.#current = seg;
    if (old !== null && old.live === 0) this.#release(old);
    return seg;
  }

  /** A segment nothing lives in any more: keep it as the spare unless a snapshot saw it. */
  #release(seg: Segment): void {
    if (seg === this.#current) return;
    if (!seg.exposed && this.#spare === null) {
      seg.used = 0;
      this.#spare = seg;
      return;
    }
    this.#arenaBytes -= this.#segmentBytes; // let go; freed once no view holds it
    letGoGarbage.note(this.#segmentBytes);
  }

  #trim(): void {
    while (this.#bytes > this.#windowBytes) {
      const oldest = this.#entries[this.#head]!;
      const size = oldest.end - oldest.start;
      const excess = this.#bytes - this.#windowBytes;
      if (size <= excess) {
        this.#dropOldest();
        continue;
      }
      // Cut the oldest entry at the first record boundary that removes at least `excess` bytes
      // (a walk of its first records only; they were checked when they arrived).
      const buf = oldest.seg.buf;
      let offset = oldest.start;
      let cut = 0;
      for (let e; offset - oldest.start < excess && (e = recordEnd(buf, offset, oldest.end)) > 0;) {
        offset = e;
        cut++;
      }
      // (Short of `excess` only if the walk hit damaged bytes: then the whole entry goes.)
      if (offset >= oldest.end || offset - oldest.start < excess) {
        this.#dropOldest();
        continue;
      }
      this.#bytes -= offset - oldest.start;
      this.#packets -= cut;
      this.#trimmedPackets += cut;
      oldest.start = offset;
      oldest.count -= cut;
    }
  }

  #dropOldest(): void {
    const e = this.#entries[this.#head]!;
    this.#bytes -= e.end - e.start;
    this.#packets -= e.count;
    this.#trimmedPackets += e.count;
    this.#entries[this.#head++] = undefined as unknown as Entry; // let it go
    if (--e.seg.live === 0) this.#release(e.seg);
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
