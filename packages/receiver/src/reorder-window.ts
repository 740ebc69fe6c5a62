// The receiver's reorder window: many senders' batches in, one stream out whose timestamps never
// decrease, in the kernel's own order wherever the kernel numbered the packets. The rules are in
// packages/receiver/README.md ("Time order"); the numbers it merges by are the wire's
// kernel-order section (docs/wire-format.md).

import { PCAP_RECORD_HEADER_BYTES } from '@nflog-pipe/pcap-writer';
import {
  WIRE_NAMESPACE_ID_BYTES,
  senderIdHex,
  type FrameOrder,
  type Logger,
} from '@nflog-pipe/shared';
import { HeldRecords } from './held-records.js';
import { RecordHeap } from './record-heap.js';

// A module-private copy: an imported binding is a checked load at every use in a hot loop
// (record-walk.ts measured it).
const RECORD_HEADER_BYTES = PCAP_RECORD_HEADER_BYTES;

/**
 * Default hold of the window (`--reorder-window`), ms. A default sender's batches leave at most
 * its delay bound after the kernel logged their first packet (flush timeout 10 + kernel-order
 * hold 30 with several groups + flush interval 10 = 50 ms), but measured lags run past the bound
 * when the box is busy: a sender bound to 80 ms lagged 74 ms behind another one at most when the
 * test machine was quiet and 155 ms when it was loaded (docs: receiver README, "Time order").
 * 200 ms covers that, plus a LAN's jitter; more would only add latency and memory.
 */
export const REORDER_DEFAULT_WINDOW_MS = 200;

/**
 * How long a sender (or a namespace) counts as present after its last records, ms. While one is
 * present but has nothing held, the others' records wait for the time bound instead of being
 * released early: it could still send older ones. (Senders send nothing when idle.)
 */
export const REORDER_IDLE_MS = 10_000;

/**
 * What the window keeps per held record besides its bytes, counted against `bufferBytes`: its
 * slot in HeldRecords (7 numbers, 40 bytes), its free-list entry and its heap entry (4 each).
 */
export const REORDER_HELD_RECORD_BYTES = 48;
const HELD_RECORD_BYTES = REORDER_HELD_RECORD_BYTES;

/** Namespaces merged by NFULA_SEQ_GLOBAL at once; records of further ones are merged by time. */
export const REORDER_MAX_NAMESPACES = 256;

/** Senders tracked per namespace (for exact release across gaps); further ones are not waited for. */
export const REORDER_MAX_NAMESPACE_SENDERS = 64;

/** Options of {@link ReorderWindow}. */
export interface ReorderWindowOptions {
  /** Longest a record is held, ms, from its arrival (`--reorder-window`); above 0. */
  windowMs: number;
  /**
   * Most bytes held (`--reorder-buffer`): the batches' buffers plus REORDER_HELD_RECORD_BYTES per
   * record; beyond it the first records in order are released early (`overflowPackets`).
   */
  bufferBytes: number;
  /** Takes each released batch: whole records, timestamps non-decreasing. Called synchronously. */
  onRelease: (records: Buffer, count: number) => void;
  /** Connected peers now (ZeroMQ connections whose handshake completed); default 1. */
  peers?: () => number;
  /** See {@link REORDER_IDLE_MS} (the default); at least twice `windowMs`. */
  idleMs?: number;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
  /** Runs `fn` after `ms`; returns what cancels it (default an unref'ed setTimeout). */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Where the one warning about a sender's delay bound goes. */
  logger?: Logger;
}

/** Counters of a {@link ReorderWindow}. */
export interface ReorderStats {
  /** Records held now. */
  heldPackets: number;
  /** Bytes of the batches they lie in (the memory the window keeps alive besides its index). */
  heldBytes: number;
  /**
   * Records written out of place: after a record that sorts after them (a later timestamp of
   * another stream, or a higher NFULA_SEQ_GLOBAL of their namespace) had been written. Stamped
   * with the last timestamp written (`reorder.late.pkt`).
   */
  latePackets: number;
  /**
   * Records written in their place in kernel order whose timestamp was raised to the last one
   * written: two senders of one namespace stamp at their own read times, so kernel order and
   * timestamp order can disagree by a flush (`reorder.restamped.pkt`).
   */
  restampedPackets: number;
  /** Records released before their time because the window was full (`reorder.overflow.pkt`). */
  overflowPackets: number;
}

/** A sender of a namespace: the highest number it has sent, and when it was last heard. */
interface NamespaceSender {
  readonly id: bigint;
  latest: number;
  heardMs: number;
}

/** Records that come out in one order: a namespace's (by number) or the time pool (by time). */
interface Stream {
  readonly heap: RecordHeap;
  readonly bySeq: boolean;
  /** Timestamp last written from this stream (its records never go below it); -1 = none. */
  lastSec: number;
  lastFrac: number;
  /** Unwrapped number of the last record written in order; -Infinity = none. */
  lastSeq: number;
  /** The highest NFULA_SEQ_GLOBAL seen, raw and unwrapped: the reference of the unwrapping. */
  refRaw: number;
  refKey: number;
  heardMs: number;
  readonly senders: NamespaceSender[];
}

/**
 * Merges the batches of many senders into one output stream with non-decreasing timestamps.
 *
 * - Records of one network namespace (frames with the kernel-order section and the same
 *   `namespaceId`, any number of senders) come out in NFULA_SEQ_GLOBAL order (mod 2^32);
 *   everything else (frames without the section, legacy messages) by timestamp. Streams are
 *   merged by timestamp; a namespace's timestamps are first made non-decreasing in its number
 *   order (`restampedPackets`).
 * - A record is held at most `windowMs` after its arrival. It is released earlier when that is
 *   exactly safe: every present namespace has records held whose first one no other sender of
 *   that namespace can still precede (the next number, or every sender is past it), no sender
 *   without numbers is present, and no connected peer has yet to be heard from. A single
 *   sender, alone, with its frames in order and nothing held, is passed through as it came
 *   (the fast path: no copy, one walk that only reads timestamps).
 * - A record later than that (`latePackets`) is still written, stamped with the last timestamp
 *   written. The window holds at most `bufferBytes` (batches and index); beyond it the first
 *   records in order are released early (`overflowPackets`).
 *
 * Held records are slots in typed arrays (HeldRecords) ordered by heaps (RecordHeap): nothing is
 * allocated per packet; each released record is copied once, into the batch handed to
 * `onRelease` (a run of records that is one piece of one buffer is handed on as a view).
 */
export class ReorderWindow {
  readonly #windowMs: number;
  readonly #bufferBytes: number;
  readonly #idleMs: number;
  readonly #onRelease: (records: Buffer, count: number) => void;
  readonly #peers: () => number;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => () => void;
  readonly #logger: Logger | undefined;
  readonly #held = new HeldRecords();
  readonly #time: Stream;
  /** #time first, then the namespaces (dense, for the loops that run per released record). */
  readonly #streams: Stream[];
  readonly #byNamespace = new Map<string, Stream>();
  readonly #lastId = Buffer.alloc(WIRE_NAMESPACE_ID_BYTES);
  #lastStream: Stream | null = null;
  #lastSec = -1;
  #lastFrac = -1;
  #late = 0;
  #restamped = 0;
  #overflow = 0;
  #warnedBound = false;
  #closed = false;
  #cancelTimer: (() => void) | null = null;
  #timerDueMs = Infinity;
  #prunedMs = 0;
  // Scratch of one release: the records popped, in output order.
  #outBuf: (Buffer | null)[] = [];
  #outOff = new Uint32Array(256);
  #outLen = new Uint32Array(256);
  #outSec = new Uint32Array(256);
  #outFrac = new Uint32Array(256);
  #outStamped = new Uint8Array(256);

  /** @throws RangeError when `windowMs` or `bufferBytes` is not above 0 */
  constructor(options: ReorderWindowOptions) {
    if (!(options.windowMs > 0))
      throw new RangeError(`windowMs must be above 0: ${options.windowMs}`);
    if (!(options.bufferBytes > 0))
      throw new RangeError(`bufferBytes must be above 0: ${options.bufferBytes}`);
    this.#windowMs = options.windowMs;
    this.#bufferBytes = options.bufferBytes;
    this.#idleMs = Math.max(options.idleMs ?? REORDER_IDLE_MS, 2 * options.windowMs);
    this.#onRelease = options.onRelease;
    this.#peers = options.peers ?? ((): number => 1);
    this.#now = options.now ?? ((): number => performance.now());
    this.#setTimer =
      options.setTimer ??
      ((fn, ms): (() => void) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      });
    this.#logger = options.logger;
    this.#time = newStream(this.#held, false, -Infinity);
    this.#streams = [this.#time];
  }

  /**
   * Takes one batch: `count` whole, checked records (as the decoder leaves them) of sender
   * `senderId` (null for legacy messages), with its frame's kernel-order section if it had one.
   * Releases what is due; the batch's buffer is referenced (not copied) while records of it are
   * held, and may have its timestamps raised in place when it is passed through.
   */
  push(records: Buffer, count: number, senderId: bigint | null, order?: FrameOrder): void {
    if (count === 0) return;
    if (this.#closed) {
      this.#onRelease(records, count);
      return;
    }
    const now = this.#now();
    if (now - this.#prunedMs >= this.#idleMs) this.#prune(now);
    const st = order !== undefined && senderId !== null ? this.#namespace(order, now) : this.#time;
    st.heardMs = now;
    if (st.bySeq) {
      const seqs = order!.seqGlobal;
      const sender = this.#sender(st, senderId!, order!.delayBoundMs, now);
      if (this.#held.packets === 0 && this.#alone(st, sender, now)) {
        // Alone, nothing can sort before this sender's records, and it merged its own groups
        // by number: only its first number is checked against what was written (a frame
        // behind goes into the window and is counted late).
        const first = unwrap(st, seqs.readUInt32LE(0));
        if (first > st.lastSeq) {
          const latest = Math.max(first, unwrap(st, seqs.readUInt32LE((count - 1) * 4)));
          if (latest > sender!.latest) sender!.latest = latest;
          this.#passThrough(st, records, latest);
          this.#onRelease(records, count);
          return;
        }
      }
      // The sender's highest number counts once its records are in the heap: only then is a
      // head below it safe from that sender.
      const latest = this.#add(st, records, count, now, seqs);
      if (sender !== null && latest > sender.latest) sender.latest = latest;
    } else {
      this.#add(st, records, count, now, null);
    }
    this.#release(now, false);
    this.#arm(now);
  }

  /** Releases every record held, in order (at a stop), and cancels the timer. */
  flush(): void {
    this.#release(this.#now(), true);
    this.#arm(this.#now());
  }

  /** {@link flush}; later batches are passed on as they come. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }

  /** Current counters. */
  stats(): ReorderStats {
    return {
      heldPackets: this.#held.packets,
      heldBytes: this.#held.heldBytes,
      latePackets: this.#late,
      restampedPackets: this.#restamped,
      overflowPackets: this.#overflow,
    };
  }

  /** The stream of `order`'s namespace (created if new; the time pool when too many exist). */
  #namespace(order: FrameOrder, now: number): Stream {
    // Frames of one namespace come in runs: the last one found is compared first.
    if (this.#lastStream !== null && order.namespaceId.equals(this.#lastId))
      return this.#lastStream;
    const id = order.namespaceId.toString('hex');
    let st = this.#byNamespace.get(id);
    if (st !== undefined) return this.#remember(order.namespaceId, st);
    if (this.#byNamespace.size >= REORDER_MAX_NAMESPACES) this.#prune(now);
    if (this.#byNamespace.size >= REORDER_MAX_NAMESPACES) return this.#time;
    st = newStream(this.#held, true, -Infinity);
    st.refRaw = order.seqGlobal.readUInt32LE(0);
    st.refKey = st.refRaw;
    this.#byNamespace.set(id, st);
    this.#streams.push(st);
    return this.#remember(order.namespaceId, st);
  }

  #remember(namespaceId: Buffer, st: Stream): Stream {
    namespaceId.copy(this.#lastId);
    this.#lastStream = st;
    return st;
  }

  /** Sender `id` of namespace `st`, heard now (null when the namespace tracks too many). */
  #sender(st: Stream, id: bigint, delayBoundMs: number, now: number): NamespaceSender | null {
    const list = st.senders;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.id === id) {
        s.heardMs = now;
        return s;
      }
    }
    if (list.length >= REORDER_MAX_NAMESPACE_SENDERS) return null;
    const s: NamespaceSender = { id, latest: -Infinity, heardMs: now };
    list.push(s);
    if (delayBoundMs > this.#windowMs && !this.#warnedBound) {
      this.#warnedBound = true;
      this.#logger?.warn(
        "a sender's delay bound exceeds --reorder-window: records of other senders of its namespace may be written late (counted in reorder_late_pkt; warned once)",
        {
          sender: senderIdHex(id),
          delay_bound_ms: delayBoundMs,
          window_ms: this.#windowMs,
        },
      );
    }
    return s;
  }

  /**
   * Whether `st` is the only stream with anyone present, `sender` its only present sender, and
   * no other peer is connected: nothing can come that sorts before its next records.
   */
  #alone(st: Stream, sender: NamespaceSender | null, now: number): boolean {
    if (sender === null || this.#peers() > 1) return false;
    const idle = now - this.#idleMs;
    const streams = this.#streams;
    for (let i = 0; i < streams.length; i++) {
      const other = streams[i]!;
      if (other !== st && other.heardMs > idle) return false;
    }
    const list = st.senders;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s !== sender && s.heardMs > idle) return false;
    }
    return true;
  }

  /**
   * The fast path: the batch goes on as it is, timestamps raised in place where they step back.
   * The records were checked whole by the decoder. DataView, not Buffer reads: this loop runs
   * for every packet of a lone sender, and measured 5 times faster so (4 ns a record).
   */
  #passThrough(st: Stream, records: Buffer, latest: number): void {
    const dv = new DataView(records.buffer, records.byteOffset, records.length);
    let ls = this.#lastSec;
    let lf = this.#lastFrac;
    for (
      let off = 0;
      off < records.length;
      off += RECORD_HEADER_BYTES + dv.getUint32(off + 8, true)
    ) {
      const sec = dv.getUint32(off, true);
      const frac = dv.getUint32(off + 4, true);
      if (sec > ls || (sec === ls && frac >= lf)) {
        ls = sec;
        lf = frac;
      } else {
        dv.setUint32(off, ls, true);
        dv.setUint32(off + 4, lf, true);
        this.#restamped++;
      }
    }
    this.#lastSec = st.lastSec = ls;
    this.#lastFrac = st.lastFrac = lf;
    st.lastSeq = latest;
  }

  /**
   * Indexes the batch's records into `st`, with their unwrapped numbers from `seqs` for a
   * namespace; returns the highest number (-Infinity without). Reads as #passThrough does.
   */
  #add(st: Stream, records: Buffer, count: number, now: number, seqs: Buffer | null): number {
    const held = this.#held;
    const batch = held.addBatch(records, count, now);
    const heap = st.heap;
    const dv = new DataView(records.buffer, records.byteOffset, records.length);
    const sv = seqs === null ? null : new DataView(seqs.buffer, seqs.byteOffset, seqs.length);
    let latest = -Infinity;
    for (let i = 0, off = 0; i < count; i++) {
      const length = RECORD_HEADER_BYTES + dv.getUint32(off + 8, true);
      let key = 0;
      if (sv !== null) {
        key = unwrap(st, sv.getUint32(i * 4, true));
        if (key > latest) latest = key;
      }
      heap.push(
        held.add(batch, off, length, dv.getUint32(off, true), dv.getUint32(off + 4, true), key),
      );
      off += length;
    }
    return latest;
  }

  /**
   * Pops records in output order while one is due: its batch arrived `windowMs` ago or more, or
   * `all`, or releasing is exactly safe (#early), or the window holds more than its budget; hands
   * them on as one batch.
   */
  #release(now: number, all: boolean): void {
    const held = this.#held;
    if (held.packets === 0) return;
    const dueBefore = now - this.#windowMs;
    let n = 0;
    for (;;) {
      const st = this.#first();
      if (st === null) break;
      let overflow = false;
      if (!all && held.oldestArrivalMs() > dueBefore && !this.#early(now)) {
        if (held.heldBytes + held.packets * HELD_RECORD_BYTES <= this.#bufferBytes) break;
        overflow = true;
      }
      this.#pop(st, n++, overflow);
    }
    if (n > 0) this.#emit(n);
  }

  /** The stream whose next record comes first in output order; null when nothing is held. */
  #first(): Stream | null {
    const held = this.#held;
    const streams = this.#streams;
    let best: Stream | null = null;
    let bs = 0;
    let bf = 0;
    for (let i = 0; i < streams.length; i++) {
      const st = streams[i]!;
      if (st.heap.size === 0) continue;
      const slot = st.heap.peek();
      let sec = held.sec[slot]!;
      let frac = held.frac[slot]!;
      if (st.lastSec > sec || (st.lastSec === sec && st.lastFrac > frac)) {
        sec = st.lastSec;
        frac = st.lastFrac;
      }
      if (best === null || sec < bs || (sec === bs && frac < bf)) {
        best = st;
        bs = sec;
        bf = frac;
      }
    }
    return best;
  }

  /**
   * Whether the first record in output order can go now: no sender without numbers is present,
   * every present namespace has a record held that nothing can still precede, and every
   * connected peer is among the senders heard.
   */
  #early(now: number): boolean {
    const idle = now - this.#idleMs;
    if (this.#time.heardMs > idle) return false;
    const held = this.#held;
    const streams = this.#streams;
    let present = 0;
    for (let i = 1; i < streams.length; i++) {
      const st = streams[i]!;
      const empty = st.heap.size === 0;
      if (empty && st.heardMs <= idle) continue;
      if (empty) return false;
      const key = held.key[st.heap.peek()]!;
      const next = key === st.lastSeq + 1;
      const list = st.senders;
      for (let j = 0; j < list.length; j++) {
        const s = list[j]!;
        if (s.heardMs <= idle) continue;
        present++;
        if (!next && s.latest < key) return false;
      }
    }
    return present >= this.#peers();
  }

  /** Pops the next record of `st` into the scratch at `i`, with its output timestamp. */
  #pop(st: Stream, i: number, overflow: boolean): void {
    const held = this.#held;
    const slot = st.heap.pop();
    const sec0 = held.sec[slot]!;
    const frac0 = held.frac[slot]!;
    let sec = sec0;
    let frac = frac0;
    let late = false;
    if (st.bySeq) {
      const key = held.key[slot]!;
      if (key <= st.lastSeq) late = true;
      else st.lastSeq = key;
      if (st.lastSec > sec || (st.lastSec === sec && st.lastFrac > frac)) {
        sec = st.lastSec;
        frac = st.lastFrac;
      }
    }
    if (this.#lastSec > sec || (this.#lastSec === sec && this.#lastFrac > frac)) {
      late = true;
      sec = this.#lastSec;
      frac = this.#lastFrac;
    }
    this.#lastSec = st.lastSec = sec;
    this.#lastFrac = st.lastFrac = frac;
    const stamped = sec !== sec0 || frac !== frac0;
    if (late) this.#late++;
    else if (stamped) this.#restamped++;
    if (overflow) this.#overflow++;
    if (i === this.#outOff.length) this.#growScratch();
    this.#outBuf[i] = held.bufferOf(slot);
    this.#outOff[i] = held.offset[slot]!;
    this.#outLen[i] = held.length[slot]!;
    this.#outSec[i] = sec;
    this.#outFrac[i] = frac;
    this.#outStamped[i] = stamped ? 1 : 0;
    held.release(slot);
  }

  /** Hands the `n` popped records on as one batch: a view when they are one piece, else a copy. */
  #emit(n: number): void {
    const bufs = this.#outBuf;
    const offs = this.#outOff;
    const lens = this.#outLen;
    let total = 0;
    let onePiece = true;
    for (let i = 0; i < n; i++) {
      total += lens[i]!;
      if (
        i > 0 &&
        (bufs[i] !== bufs[0] ||
          offs[i] !== offs[i - 1]! + lens[i - 1]! ||
          this.#outStamped[i] === 1)
      )
        onePiece = false;
    }
    let out: Buffer;
    if (onePiece && this.#outStamped[0] === 0) {
      out = bufs[0]!.subarray(offs[0], offs[0]! + total);
    } else {
      // Not pooled: the output keeps it (a FIFO queue, a socket write) for as long as it needs.
      out = Buffer.allocUnsafeSlow(total);
      let pos = 0;
      for (let i = 0; i < n;) {
        const src = bufs[i]!;
        const start = offs[i]!;
        let end = start + lens[i]!;
        let j = i + 1;
        while (j < n && bufs[j] === src && offs[j] === end) end += lens[j++]!;
        src.copy(out, pos, start, end);
        for (let k = i; k < j; k++) {
          if (this.#outStamped[k] === 1) {
            out.writeUInt32LE(this.#outSec[k]!, pos);
            out.writeUInt32LE(this.#outFrac[k]!, pos + 4);
          }
          pos += lens[k]!;
        }
        i = j;
      }
    }
    bufs.fill(null, 0, n);
    this.#onRelease(out, n);
  }

  /** (Re)arms the timer for the time bound of the oldest record held; cancels it when none is. */
  #arm(now: number): void {
    const due = this.#held.packets === 0 ? Infinity : this.#held.oldestArrivalMs() + this.#windowMs;
    if (due === this.#timerDueMs) return;
    // An armed timer that fires first re-arms itself then.
    if (due !== Infinity && due > this.#timerDueMs) return;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#timerDueMs = due;
    if (due === Infinity) return;
    this.#cancelTimer = this.#setTimer(
      () => {
        this.#cancelTimer = null;
        this.#timerDueMs = Infinity;
        const t = this.#now();
        this.#release(t, false);
        this.#arm(t);
      },
      Math.max(1, Math.ceil(due - now)),
    );
  }

  /** Forgets senders and namespaces not heard for #idleMs (a namespace only with nothing held). */
  #prune(now: number): void {
    this.#prunedMs = now;
    this.#lastStream = null;
    const idle = now - this.#idleMs;
    const streams = this.#streams;
    for (let i = streams.length - 1; i >= 1; i--) {
      const st = streams[i]!;
      const live = st.senders.filter((s) => s.heardMs > idle);
      st.senders.length = 0;
      st.senders.push(...live);
      if (st.heap.size > 0 || st.heardMs > idle) continue;
      streams.splice(i, 1);
      for (const [id, s] of this.#byNamespace) if (s === st) this.#byNamespace.delete(id);
    }
  }

  #growScratch(): void {
    const n = this.#outOff.length * 2;
    const grow32 = (a: Uint32Array): Uint32Array<ArrayBuffer> => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    this.#outOff = grow32(this.#outOff);
    this.#outLen = grow32(this.#outLen);
    this.#outSec = grow32(this.#outSec);
    this.#outFrac = grow32(this.#outFrac);
    const stamped = new Uint8Array(n);
    stamped.set(this.#outStamped);
    this.#outStamped = stamped;
  }
}

function newStream(held: HeldRecords, bySeq: boolean, heardMs: number): Stream {
  return {
    heap: new RecordHeap(held, bySeq ? 'seq' : 'time'),
    bySeq,
    lastSec: -1,
    lastFrac: -1,
    lastSeq: -Infinity,
    refRaw: 0,
    refKey: 0,
    heardMs,
    senders: [],
  };
}

/**
 * The NFULA_SEQ_GLOBAL `raw` (u32, wrapping) as a number that keeps counting past 2^32: the
 * stream's highest number plus the serial difference (RFC 1982) from it, which moves the
 * reference when it is higher. Equal numbers order equal, numbers within 2^31 of each other in
 * serial order, whatever the wraps.
 */
function unwrap(st: Stream, raw: number): number {
  const key = st.refKey + ((raw - st.refRaw) | 0);
  if (key > st.refKey) {
    st.refKey = key;
    st.refRaw = raw;
  }
  return key;
}
