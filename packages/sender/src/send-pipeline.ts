// From pcap records read from the kernel to ZeroMQ messages: batch into frames, number the
// packets, optionally shape (compress or drop), and push without blocking. Kept apart from the
// netlink socket so it can be driven with recorded buffers in tests.
//
// Accounting (what the periodic log line and the final summary show): every packet given to
// pushRecords() is read; once close() has resolved, read = sent + droppedQueue + droppedShaper.

import { randomBytes } from 'node:crypto';
import { LegacyShaper, compressFrame, type RateShaper } from '@nflog-pipe/compress';
import {
  METRIC,
  WIRE_V1_HEADER_BYTES,
  encodeFrame,
  encodeFrameMeta,
  recordsToLegacyPackets,
  type Metrics,
  type NonBlockingPusher,
} from '@nflog-pipe/shared';
import { FrameBatcher } from './frame-batcher.js';

/** Size of a pcap record header, bytes; a records section minus 16 per record = packet bytes. */
const RECORD_HEADER_BYTES = 16;

/** The wire formats a sender can speak. */
export type WireFormat = 'v1' | 'legacy';

/** Options of {@link SendPipeline}. */
export interface SendPipelineOptions {
  /** Where messages go; the pipeline closes it in close(). */
  pusher: NonBlockingPusher;
  /** 'v1': one frame per batch; 'legacy': one message per packet (the Python tool's XDR). */
  wire: WireFormat;
  /** pcap linktype of the records (101 raw IP, 239 NFLOG); v1 only, legacy is always raw IP. */
  linktype: number;
  /** Largest records section of one v1 frame, bytes. */
  batchBytes: number;
  /** Largest number of packets in one v1 frame. */
  batchPackets: number;
  /** A partial batch is sent this long after its first packet, ms (0: after every read). */
  flushIntervalMs: number;
  /** Rate control (--rate-control): v1 compresses or drops whole frames; legacy uses 0x00/0x01. */
  shaper?: RateShaper | undefined;
  /** Legacy with rate control: longest a compressed window waits before it is sent, ms (default 100). */
  legacyFlushMs?: number | undefined;
  /** Counters (raw_in, raw_out, loss.zmq_queue, loss.shaper). */
  metrics: Metrics;
  /** Sender id of the v1 frames; default 64 random bits. */
  senderId?: bigint;
  /**
   * Metadata for v1 frames (WIRE_FLAG_METADATA): put in the first frame and then in the first
   * frame after every `metaIntervalMs`. Omit for none.
   */
  meta?: () => Record<string, unknown>;
  /** See `meta`, ms; 0 = first frame only. Default 60000. */
  metaIntervalMs?: number;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
}

/** Counters of a {@link SendPipeline}, packets unless named otherwise. */
export interface SendPipelineStats {
  /** Packets read from the kernel (given to pushRecords). */
  read: number;
  /** Bytes of those packets (captured bytes, pcap headers not included). */
  readBytes: number;
  /** Packets in messages accepted into the ZeroMQ queue. */
  sent: number;
  /** Bytes of those messages as queued (frame headers included, compressed size if compressed). */
  sentBytes: number;
  /** Packets dropped because the ZeroMQ queue (SNDHWM) was full. */
  droppedQueue: number;
  /** Packets dropped by the rate-control shaper above the high watermark. */
  droppedShaper: number;
  /** Messages (frames, or legacy packets/windows) accepted into the ZeroMQ queue. */
  sentMessages: number;
  /** Sequence number the next packet read will get (v1). */
  nextSeq: bigint;
}

/** Returns 64 random bits: a new sender id per start. */
export function randomSenderId(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

/**
 * Turns record buffers into ZeroMQ messages. v1: batches become frames carrying the sender id
 * and the sequence number of their first packet; each packet consumes one number even when its
 * frame is dropped, so receivers see the loss as a gap. Legacy: each packet is one XDR message
 * (with rate control framed 0x00/0x01 by {@link LegacyShaper}); no sequence numbers exist there.
 */
export class SendPipeline {
  /** This sender's id (random per start unless given). */
  readonly senderId: bigint;
  #o: SendPipelineOptions;
  #batcher: FrameBatcher;
  #legacyShaper: LegacyShaper | undefined;
  #metrics: Metrics;
  #now: () => number;
  #metaIntervalMs: number;
  #nextMetaMs = -Infinity;
  #read = 0;
  #readBytes = 0;
  #droppedShaper = 0;
  #closing: Promise<void> | undefined;

  /** @throws RangeError for bad batch limits (see FrameBatcher). */
  constructor(options: SendPipelineOptions) {
    this.#o = options;
    this.#metrics = options.metrics;
    this.senderId = options.senderId ?? randomSenderId();
    this.#now = options.now ?? (() => performance.now());
    this.#metaIntervalMs = options.metaIntervalMs ?? 60_000;
    this.#batcher = new FrameBatcher({
      maxBytes: options.batchBytes,
      maxPackets: options.batchPackets,
      flushIntervalMs: options.flushIntervalMs,
      onBatch: (records, count, firstSeq) => this.#onBatch(records, count, firstSeq),
    });
    if (options.wire === 'legacy' && options.shaper !== undefined) {
      this.#legacyShaper = new LegacyShaper({
        shaper: options.shaper,
        onMessage: (msg, packets) => options.pusher.push(msg, packets),
        ...(options.legacyFlushMs !== undefined ? { flushMs: options.legacyFlushMs } : {}),
      });
    }
  }

  /**
   * Takes one read's worth of pcap records (`count` of them) and never blocks. The buffer must
   * be fresh (not reused by the caller) and is not modified.
   */
  pushRecords(records: Buffer, count: number): void {
    if (count === 0 || this.#closing !== undefined) return;
    this.#read += count;
    const bytes = records.length - RECORD_HEADER_BYTES * count;
    this.#readBytes += bytes;
    this.#metrics.increment(METRIC.RAW_IN_PKT, count);
    this.#metrics.increment(METRIC.RAW_IN_BYTES, bytes);
    if (this.#o.wire === 'v1') {
      this.#batcher.push(records, count);
      return;
    }
    // Legacy: one message per packet, as the Python tool sent them; they share one allocation.
    const msgs = recordsToLegacyPackets(records);
    const shaper = this.#legacyShaper;
    for (const msg of msgs) {
      if (shaper === undefined) this.#o.pusher.push(msg, 1);
      else if (shaper.push(msg) === 'drop') this.#shaperDrop(1);
    }
  }

  /** Sends the current partial batch now. */
  flush(): void {
    this.#batcher.flush();
    this.#legacyShaper?.flush();
  }

  /** Counters; exact (every packet read is sent or dropped) once close() has resolved. */
  stats(): SendPipelineStats {
    const p = this.#o.pusher.stats();
    return {
      read: this.#read,
      readBytes: this.#readBytes,
      sent: p.sentPackets,
      sentBytes: p.sentBytes,
      droppedQueue: p.droppedPackets,
      droppedShaper: this.#droppedShaper,
      sentMessages: p.sentMessages,
      nextSeq: this.#batcher.nextSeq,
    };
  }

  /**
   * Flushes what is batched, waits for every push's outcome and closes the pusher (whose
   * ZMQ_LINGER bounds how long queued messages may still take). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#batcher.close();
      this.#legacyShaper?.close();
      await this.#o.pusher.close();
    })();
    return this.#closing;
  }

  #onBatch(records: Buffer, count: number, firstSeq: bigint): void {
    const shaper = this.#o.shaper;
    const verdict = shaper === undefined ? 'pass' : shaper.verdict(WIRE_V1_HEADER_BYTES + records.length);
    if (verdict === 'drop') {
      this.#shaperDrop(count);
      return;
    }
    let meta: Buffer | undefined;
    if (this.#o.meta !== undefined) {
      const nowMs = this.#now();
      if (nowMs >= this.#nextMetaMs) {
        meta = encodeFrameMeta(this.#o.meta());
        this.#nextMetaMs = this.#metaIntervalMs > 0 ? nowMs + this.#metaIntervalMs : Infinity;
      }
    }
    let frame = encodeFrame(
      { linktype: this.#o.linktype, senderId: this.senderId, firstSeq, count, ...(meta !== undefined ? { meta } : {}) },
      records,
    );
    if (verdict === 'compress') frame = compressFrame(frame);
    this.#o.pusher.push(frame, count);
  }

  #shaperDrop(packets: number): void {
    this.#droppedShaper += packets;
    this.#metrics.increment(METRIC.LOSS_SHAPER_PKT, packets);
  }
}
