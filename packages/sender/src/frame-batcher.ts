// Groups the record buffers read from the kernel into frames and numbers their packets.
// Sequence numbers are handed out here, when a frame is cut, so every packet the sender took
// from the kernel consumes exactly one number whatever later happens to its frame (sent,
// dropped at the ZeroMQ queue or by the shaper): the receiver sees the drops as gaps.

import { NFLOG_INDEX_ENTRY_BYTES as INDEX_ENTRY_BYTES } from '@nflog-pipe/nflog-native';
import { splitRecords } from './record-split.js';

/**
 * Where a finished batch goes: its whole pcap records as consecutive pieces (views of the
 * reads, not copies; `bytes` in all; the v1 frame encoder copies them once, straight into the
 * frame), their count, the first packet's number, and the index entries of those records
 * (nflog-native's, 16 bytes per record, as views of the reads; empty when the reads came
 * without an index).
 */
export type BatchPiecesSink = (
  pieces: readonly Buffer[],
  bytes: number,
  count: number,
  firstSeq: bigint,
  indexPieces: readonly Buffer[],
) => void;

/** Options of {@link FrameBatcher}: limits and where batches go. */
export type FrameBatcherOptions = FrameBatcherLimits & {
  /** Receives each batch, synchronously, in sequence order. */
  onBatchPieces: BatchPiecesSink;
};

/** The limits of a {@link FrameBatcher}. */
export interface FrameBatcherLimits {
  /** Largest records section of one frame, bytes (a single larger packet still gets a frame). */
  maxBytes: number;
  /** Largest number of packets in one frame. */
  maxPackets: number;
  /** A partial batch is cut this long after its first packet arrived, ms; 0 cuts after every read. */
  flushIntervalMs: number;
  /** First sequence number (default 0). */
  firstSeq?: bigint;
}

/**
 * Accumulates pcap record buffers (one per kernel read) into batches bounded by bytes and
 * packets, cutting a partial batch after `flushIntervalMs`. A read that fits is kept as is (no
 * copy); only a read larger than a frame is split, at record boundaries. Several small reads in
 * one batch are handed over as pieces, never concatenated here.
 */
export class FrameBatcher {
  #maxBytes: number;
  #maxPackets: number;
  #flushIntervalMs: number;
  #onBatchPieces: BatchPiecesSink;
  #nextSeq: bigint;
  #chunks: Buffer[] = [];
  #indexChunks: Buffer[] = [];
  #pendingBytes = 0;
  #pendingCount = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @throws RangeError when a limit is not a positive integer (flushIntervalMs may be 0). */
  constructor(options: FrameBatcherOptions) {
    for (const [name, v, min] of [
      ['maxBytes', options.maxBytes, 1],
      ['maxPackets', options.maxPackets, 1],
      ['flushIntervalMs', options.flushIntervalMs, 0],
    ] as const) {
      if (!Number.isInteger(v) || v < min)
        throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
    }
    this.#maxBytes = options.maxBytes;
    this.#maxPackets = options.maxPackets;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#onBatchPieces = options.onBatchPieces;
    this.#nextSeq = options.firstSeq ?? 0n;
  }

  /** Sequence number the next packet will get (= packets numbered so far, from 0). */
  get nextSeq(): bigint {
    return this.#nextSeq;
  }

  /** Packets held in the current partial batch. */
  get pendingPackets(): number {
    return this.#pendingCount;
  }

  /**
   * Adds one read's records. `records` must be whole pcap records, `count` of them, and must
   * not be modified afterwards (it may be kept until the batch is cut); so must `index`, their
   * index entries (INDEX_ENTRY_BYTES each), when given.
   * @throws SenderError `ERR_SENDER_BAD_RECORDS` when a read that needs splitting is malformed.
   */
  push(records: Buffer, count: number, index?: Buffer): void {
    if (count === 0 || this.#closed) return;
    if (records.length <= this.#maxBytes && count <= this.#maxPackets) {
      this.#add(records, count, index);
    } else {
      let first = 0;
      for (const piece of splitRecords(records, this.#maxBytes, this.#maxPackets)) {
        const ix = index?.subarray(
          first * INDEX_ENTRY_BYTES,
          (first + piece.count) * INDEX_ENTRY_BYTES,
        );
        this.#add(piece.records, piece.count, ix);
        first += piece.count;
      }
    }
  }

  /** Cuts the current partial batch now (no-op when empty). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const count = this.#pendingCount;
    if (count === 0) return;
    const chunks = this.#chunks;
    const indexChunks = this.#indexChunks;
    const bytes = this.#pendingBytes;
    this.#chunks = [];
    this.#indexChunks = [];
    this.#pendingBytes = 0;
    this.#pendingCount = 0;
    const firstSeq = this.#nextSeq;
    this.#nextSeq += BigInt(count);
    this.#onBatchPieces(chunks, bytes, count, firstSeq, indexChunks);
  }

  /** Flushes what is pending and stops: later pushes are ignored. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }

  #add(records: Buffer, count: number, index: Buffer | undefined): void {
    if (
      this.#pendingCount > 0 &&
      (this.#pendingBytes + records.length > this.#maxBytes ||
        this.#pendingCount + count > this.#maxPackets)
    ) {
      this.flush();
    }
    this.#chunks.push(records);
    if (index !== undefined) this.#indexChunks.push(index);
    this.#pendingBytes += records.length;
    this.#pendingCount += count;
    if (
      this.#flushIntervalMs === 0 ||
      this.#pendingBytes >= this.#maxBytes ||
      this.#pendingCount >= this.#maxPackets
    ) {
      this.flush();
    } else if (this.#timer === undefined) {
      // unref: the netlink socket keeps the process alive; shutdown flushes explicitly.
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.#flushIntervalMs);
      this.#timer.unref();
    }
  }
}
