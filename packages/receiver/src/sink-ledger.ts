// Where each batch a sink took is: waiting in its queue, out (handed to a pcap writer) or lost.
// FifoSink and FileSink differ in how they reach their output, not in this bookkeeping, so it
// lives here once and both report the same counters through the same callbacks.

import type { PcapLoss } from '@nflog-pipe/pcap-writer';
import type { PcapSinkEvents, PcapSinkStats } from './pcap-sink.js';

/** One whole batch of pcap records waiting for an output. */
export interface QueuedBatch {
  readonly records: Buffer;
  readonly count: number;
}

/**
 * Why records were lost at a sink (the `why` of `onLost`): the queue was full, a FIFO reader
 * left without them, the receiver stopped before they were written, or the output could not
 * write them (a full disk; the sink retries).
 */
export type SinkLossReason =
  'queue-full' | 'reader-gone' | 'shutdown' | 'output-error' | 'unconvertible';

/** Counters of a sink that has not started (all zero). */
export function emptySinkStats(): PcapSinkStats {
  return {
    outPackets: 0,
    outBytes: 0,
    lostPackets: 0,
    queuedPackets: 0,
    queuedBytes: 0,
    opens: 0,
  };
}

/**
 * A sink's queue of whole batches (bounded by the sink itself, in bytes) and its counters.
 * Every change of a counter goes to the sink's `onOut` / `onLost` callbacks as it happens.
 */
export class SinkLedger {
  readonly #events: PcapSinkEvents;
  #queue: QueuedBatch[] = [];
  #queuedBytes = 0;
  #queuedPackets = 0;
  #stats = emptySinkStats();

  constructor(events: PcapSinkEvents) {
    this.#events = events;
  }

  /** Bytes of the batches waiting in the queue. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Batches waiting in the queue. */
  get queuedBatches(): number {
    return this.#queue.length;
  }

  /** Keep a batch for later (the buffer is referenced, not copied). */
  enqueue(records: Buffer, count: number): void {
    this.#queue.push({ records, count });
    this.#queuedBytes += records.length;
    this.#queuedPackets += count;
  }

  /** The oldest waiting batch, left in the queue. */
  peek(): QueuedBatch | undefined {
    return this.#queue[0];
  }

  /** Take the oldest waiting batch out of the queue. */
  dequeue(): QueuedBatch | undefined {
    const b = this.#queue.shift();
    if (b !== undefined) {
      this.#queuedBytes -= b.records.length;
      this.#queuedPackets -= b.count;
    }
    return b;
  }

  /** Take every waiting batch out of the queue, oldest first. */
  takeQueue(): QueuedBatch[] {
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#queuedPackets = 0;
    return queue;
  }

  /** Empty the queue and count what was in it as lost for `why`. */
  dropQueue(why: SinkLossReason): void {
    let packets = 0;
    for (const b of this.takeQueue()) packets += b.count;
    if (packets > 0) this.lose(packets, why);
  }

  /** A batch was handed to the output's writer. */
  out(records: Buffer, count: number): void {
    this.outCounts(count, records.length);
  }

  /**
   * `packets` records of `bytes` were handed to an output (negative: moved back), for a sink
   * whose outputs count for it (the rotated files' FileSinks).
   */
  outCounts(packets: number, bytes: number): void {
    this.#stats.outPackets += packets;
    this.#stats.outBytes += bytes;
    this.#events.onOut?.(packets, bytes);
  }

  /** `packets` records were lost at the sink. */
  lose(packets: number, why: SinkLossReason): void {
    this.#stats.lostPackets += packets;
    this.#events.onLost?.(packets, why);
  }

  /**
   * Batches a failed writer handed back unwritten (`PcapWriteError.unwritten`) move from out
   * back to the front of the queue, oldest first, to be written again.
   */
  requeue(batches: readonly QueuedBatch[]): void {
    if (batches.length === 0) return;
    let packets = 0;
    let bytes = 0;
    for (const b of batches) {
      packets += b.count;
      bytes += b.records.length;
    }
    this.#queue = [...batches, ...this.#queue];
    this.#queuedBytes += bytes;
    this.#queuedPackets += packets;
    this.#stats.outPackets -= packets;
    this.#stats.outBytes -= bytes;
    this.#events.onOut?.(-packets, -bytes);
  }

  /** Move records the writer reports lost from out to lost. */
  settle(loss: PcapLoss, why: SinkLossReason): void {
    if (loss.lostRecords === 0) return;
    this.#stats.outPackets -= loss.lostRecords;
    this.#stats.outBytes -= loss.lostBytes;
    this.#events.onOut?.(-loss.lostRecords, -loss.lostBytes);
    this.lose(loss.lostRecords, why);
  }

  /** The output was opened once more; returns how many times in all. */
  opened(): number {
    return ++this.#stats.opens;
  }

  /** Current counters. */
  stats(): PcapSinkStats {
    return { ...this.#stats, queuedPackets: this.#queuedPackets, queuedBytes: this.#queuedBytes };
  }
}
