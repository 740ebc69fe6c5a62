// From pcap records read from the kernel to ZeroMQ messages: batch into frames, number the
// packets, optionally shape (compress or drop), and push without blocking. Kept apart from the
// netlink socket so it can be driven with recorded buffers in tests.
//
// Accounting (what the periodic log line and the final summary show): every packet given to
// pushRecords() is read; once close() has resolved, read = sent + droppedQueue + droppedShaper.
//
// Heartbeats (v1 only; docs/wire-format.md "Heartbeat"): a dropped frame only becomes loss at
// the receiver when a later message of this sender reaches it with a higher sequence number.
// Drops just before a stop, or before a long quiet spell, would have no such message, so they
// would be counted here and never there. Two count-0 frames close that hole:
// - at close(), after the last batch, one heartbeat with firstSeq = nextSeq (when any packet was
//   numbered), retried while the ZeroMQ queue is full for up to `stopHeartbeatMs` (the CLI
//   passes --zmq-linger);
// - while running, at most once per `heartbeatIntervalMs`, only when packets were dropped (queue
//   or shaper) since the last heartbeat ZeroMQ accepted. An idle, loss-free sender sends nothing.
// Heartbeats bypass the shaper and never wait: the netlink read path is never held up.

import type * as Crypto from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { LegacyShaper, shapeFrame, type RateShaper } from '@nflog-pipe/compress';
import { NFLOG_INDEX, NFLOG_INDEX_ENTRY_BYTES, NFLOG_RECORD_FLAG } from '@nflog-pipe/nflog-native';
import {
  GarbageBudget,
  METRIC,
  NonBlockingPusher,
  encodeFrame,
  encodeFrameMeta,
  recordsToLegacyPackets,
  type CounterHandle,
  type CurveClientKeys,
  type FrameFields,
  type FrameOrder,
  type Logger,
  type Metrics,
  lazyRequire,
} from '@nflog-pipe/shared';
import { FrameBatcher } from './frame-batcher.js';
import { pusherMetrics } from './pusher-metrics.js';
import type { ShardLabels } from './shard-router.js';

// Each read's Buffer and the frame made of it are garbage once ZeroMQ has sent it: twice the
// read's bytes. One budget per process, not per pipeline: V8's heap is the process's, and a
// sharded sender's pipelines each see a share of the reads (docs/operations.md, "Memory of the
// sender").
const processGarbage = new GarbageBudget();

// Loaded at the first sender id, after the groups are bound (shared's lazyRequire).
const crypto = lazyRequire<typeof Crypto>(import.meta.url, 'node:crypto');

/** Size of a pcap record header, bytes; a records section minus 16 per record = packet bytes. */
const RECORD_HEADER_BYTES = 16;

/**
 * Pause between attempts to queue the stop heartbeat while the ZeroMQ queue is full, ms. ZeroMQ
 * offers no "writable" event on a socket with SNDTIMEO 0, so the attempt is simply repeated.
 */
const STOP_HEARTBEAT_RETRY_MS = 5;

/** The records section of a heartbeat: none. */
const NO_RECORDS = Buffer.alloc(0);

/** Where a shard's captured bytes go: the sender counts them once, for every shard. */
const NO_COUNTER: CounterHandle = { inc: () => {}, value: 0, remove: () => {} };

/** Default {@link SendPipelineOptions.heartbeatIntervalMs}, ms. */
export const SEND_HEARTBEAT_INTERVAL_MS = 1000;

/** Default {@link SendPipelineOptions.stopHeartbeatMs}, ms. */
export const SEND_STOP_HEARTBEAT_MS = 1000;

/** The wire formats a sender can speak. */
export type WireFormat = 'v1' | 'legacy';

/**
 * What v1 frames carry in their kernel-order section (docs/wire-format.md "Kernel-order
 * section") besides each record's NFULA_SEQ_GLOBAL, which comes from the reads' index.
 */
export interface SendOrderOptions {
  /** The network namespace the records were logged in: NflogSocket.namespaceId (24 bytes). */
  namespaceId: Buffer;
  /** Kernel flush timeout + kernel-order hold + flush interval, ms. */
  delayBoundMs: number;
}

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
  /**
   * v1: while packets dropped here (queue or shaper) may still be unknown to the receiver, a
   * heartbeat (count-0 frame, firstSeq = next number) goes out at most once per this period,
   * ms; 0 = never while running (the stop heartbeat is still sent). Default 1000
   * ({@link SEND_HEARTBEAT_INTERVAL_MS}).
   */
  heartbeatIntervalMs?: number;
  /**
   * v1: at close(), how long the final heartbeat is retried while the ZeroMQ queue is full, ms;
   * 0 = one attempt. Default 1000 ({@link SEND_STOP_HEARTBEAT_MS}); the CLI uses --zmq-linger.
   */
  stopHeartbeatMs?: number;
  /**
   * v1: put a kernel-order section in every frame with records, built from the index entries
   * given to pushRecords (a frame with a record lacking NFULA_SEQ_GLOBAL, or reads without an
   * index, goes without one). Omit for plain v1 frames, as receivers before it need.
   */
  order?: SendOrderOptions | undefined;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
  /**
   * This pipeline is one shard of a sender with several endpoints: what it is given counts as
   * routed to this shard (shard.{shard}.routed.pkt) instead of captured (the sender counts
   * that once), and its losses count in the shard's series too ({@link ShardLabels}).
   */
  shard?: ShardLabels | undefined;
}

/** Options of {@link SendPipeline.connect}: the pipeline's, and its PUSH socket's instead of a pusher. */
export interface SendStreamOptions extends Omit<SendPipelineOptions, 'pusher'> {
  /** ZeroMQ endpoint the PUSH socket connects to (checked with validateEndpoint first). */
  endpoint: string;
  /** ZMQ_SNDHWM: messages queued before new ones are dropped and counted, >= 1. */
  sendHighWaterMark: number;
  /** ZMQ_LINGER at close(), ms: how long queued messages may still be delivered. */
  lingerMs: number;
  /** ZMQ_SNDBUF, bytes (0 or undefined: the OS default); see PusherConnectOptions. */
  sendBufferBytes?: number;
  /**
   * Where an unexpected ZeroMQ send error is warned about (once per code), and the connection's
   * handshakes are logged (connected, refused, failing; see PeerWatch in @nflog-pipe/shared).
   */
  logger: Logger;
  /** CURVE client keys of the PUSH socket; undefined = plain. */
  curve?: CurveClientKeys | undefined;
  /** Warn when no receiver has been connected for this long, ms (0: never). Default 5000. */
  noReceiverWarnMs?: number;
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
  /** Messages (frames, heartbeats, or legacy packets/windows) accepted into the ZeroMQ queue. */
  sentMessages: number;
  /** Messages refused (queue full, another send error, or pushed after close), heartbeats included. */
  droppedMessages: number;
  /** Heartbeats (v1 count-0 frames) accepted into the ZeroMQ queue; part of sentMessages. */
  heartbeats: number;
  /** Sequence number the next packet read will get (v1). */
  nextSeq: bigint;
  /** Whether the receiver (or relay) is connected now, by a completed handshake; undefined when not watched. */
  connected: boolean | undefined;
  /** Whether the last message offered was refused for a full ZeroMQ queue (see NonBlockingPusher.queueFull). */
  queueFull: boolean;
}

/** Returns 64 random bits: a new sender id per start. */
export function randomSenderId(): bigint {
  return crypto().randomBytes(8).readBigUInt64LE(0);
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
  #capturedPkt: CounterHandle;
  #capturedBytes: CounterHandle;
  #shardShaperLoss: CounterHandle | undefined;
  #now: () => number;
  #metaIntervalMs: number;
  #nextMetaMs = -Infinity;
  #read = 0;
  #readBytes = 0;
  #droppedShaper = 0;
  #closing: Promise<void> | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #stopHeartbeatMs: number;
  #heartbeats = 0;
  /** Packets dropped (queue + shaper) when the heartbeat timer last looked. */
  #dropsSeen = 0;
  /** Some drop may still be unknown to the receiver: no heartbeat was accepted since. */
  #heartbeatOwed = false;
  #finalHeartbeatQueued: boolean | undefined;
  #order: SendOrderOptions | undefined;

  /**
   * One sender stream: connects a never-blocking PUSH socket to `options.endpoint` and builds
   * the pipeline onto it, with the pusher's outcomes counted in `options.metrics`
   * (`raw_out.pkt`, `raw_out.bytes`, `loss.zmq_queue.pkt`; see {@link pusherMetrics}). This is
   * how nflog-zmq-send wires its output.
   * @throws the zeromq.js error when the socket cannot be set up or the endpoint is refused;
   *   RangeError as the constructor
   */
  static connect(options: SendStreamOptions): SendPipeline {
    const {
      endpoint,
      sendHighWaterMark,
      lingerMs,
      sendBufferBytes,
      logger,
      curve,
      noReceiverWarnMs,
      ...rest
    } = options;
    const pusher = NonBlockingPusher.connect(
      endpoint,
      {
        sendHighWaterMark,
        lingerMs,
        sendBufferBytes,
        metrics: options.metrics,
        curve,
        logger,
        ...(noReceiverWarnMs !== undefined ? { noPeerWarnMs: noReceiverWarnMs } : {}),
      },
      pusherMetrics(options.metrics, logger, options.shard),
    );
    try {
      return new SendPipeline({ ...rest, pusher });
    } catch (err) {
      void pusher.close();
      throw err;
    }
  }

  /** @throws RangeError for bad batch limits (see FrameBatcher) or a negative heartbeat period. */
  constructor(options: SendPipelineOptions) {
    this.#o = options;
    this.#metrics = options.metrics;
    const shard = options.shard;
    // A shard counts what it is routed (bytes: nowhere, the sender counts captured bytes once).
    this.#capturedPkt =
      shard === undefined
        ? options.metrics.counter(METRIC.CAPTURED_PKT)
        : options.metrics.counter(METRIC.SHARD_ROUTED_PKT, { ...shard });
    this.#capturedBytes =
      shard === undefined ? options.metrics.counter(METRIC.CAPTURED_BYTES) : NO_COUNTER;
    // Exported from the start (at 0) where it can happen.
    if (options.shaper !== undefined) options.metrics.counter(METRIC.LOSS_SHAPER_PKT);
    this.#shardShaperLoss =
      shard !== undefined && options.shaper !== undefined
        ? options.metrics.counter(METRIC.SHARD_LOSS_SHAPER_PKT, { ...shard })
        : undefined;
    this.senderId = options.senderId ?? randomSenderId();
    this.#now = options.now ?? (() => performance.now());
    this.#metaIntervalMs = options.metaIntervalMs ?? 60_000;
    this.#order = options.order;
    const heartbeatMs = options.heartbeatIntervalMs ?? SEND_HEARTBEAT_INTERVAL_MS;
    this.#stopHeartbeatMs = options.stopHeartbeatMs ?? SEND_STOP_HEARTBEAT_MS;
    for (const [name, v] of [
      ['heartbeatIntervalMs', heartbeatMs],
      ['stopHeartbeatMs', this.#stopHeartbeatMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new RangeError(`${name} must be a number >= 0, got ${v}`);
    }
    this.#batcher = new FrameBatcher({
      maxBytes: options.batchBytes,
      maxPackets: options.batchPackets,
      flushIntervalMs: options.flushIntervalMs,
      // Pieces, not one concatenated Buffer: encodeFrame copies them into the frame anyway.
      onBatchPieces: (pieces, _bytes, count, firstSeq, index) =>
        this.#onBatch(pieces, count, firstSeq, index),
    });
    if (options.wire === 'legacy' && options.shaper !== undefined) {
      this.#legacyShaper = new LegacyShaper({
        shaper: options.shaper,
        onMessage: (msg, packets) => options.pusher.push(msg, packets),
        ...(options.legacyFlushMs !== undefined ? { flushMs: options.legacyFlushMs } : {}),
      });
    }
    if (options.wire === 'v1' && heartbeatMs > 0) {
      // unref: the netlink socket keeps the process alive; close() clears the timer.
      this.#heartbeatTimer = setInterval(() => this.#onHeartbeatTimer(), heartbeatMs);
      this.#heartbeatTimer.unref();
    }
  }

  /**
   * Takes one read's worth of pcap records (`count` of them) and never blocks. The buffer must
   * be fresh (not reused by the caller) and is not modified; so is `index`, the read's index
   * entries (NflogSocket's third argument), which the kernel-order section is made from.
   */
  pushRecords(records: Buffer, count: number, index?: Buffer): void {
    if (count === 0 || this.#closing !== undefined) return;
    this.#read += count;
    processGarbage.note(2 * records.length);
    const bytes = records.length - RECORD_HEADER_BYTES * count;
    this.#readBytes += bytes;
    this.#capturedPkt.inc(count);
    this.#capturedBytes.inc(bytes);
    if (this.#o.wire === 'v1') {
      this.#batcher.push(records, count, index);
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

  /**
   * From the next frame on, v1 frames carry a kernel-order section with `order`'s namespace and
   * delay bound (undefined: none). The sender sets it once NflogSocket is open and knows both.
   */
  setOrder(order: SendOrderOptions | undefined): void {
    this.#order = order;
  }

  /** Sends the current partial batch now. */
  flush(): void {
    this.#batcher.flush();
    this.#legacyShaper?.flush();
  }

  /** Resolves once every message pushed so far is queued by ZeroMQ or counted as dropped. */
  settled(): Promise<void> {
    return this.#o.pusher.settled();
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
      droppedMessages: p.droppedMessages,
      heartbeats: this.#heartbeats,
      nextSeq: this.#batcher.nextSeq,
      connected: this.#o.pusher.connected,
      queueFull: this.#o.pusher.queueFull,
    };
  }

  /**
   * v1, once close() has resolved: whether the stop heartbeat got into the ZeroMQ queue (false:
   * the queue stayed full for `stopHeartbeatMs`, so drops of the last moments may stay unseen
   * by the receiver). Undefined before that, for legacy, and when no packet was numbered.
   */
  get finalHeartbeatQueued(): boolean | undefined {
    return this.#finalHeartbeatQueued;
  }

  /**
   * Flushes what is batched, sends the stop heartbeat (v1, when any packet was numbered;
   * retried for up to `stopHeartbeatMs` while the queue is full), waits for every push's outcome and closes the pusher (whose
   * ZMQ_LINGER bounds how long queued messages may still take). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeatTimer);
      this.#batcher.close();
      this.#legacyShaper?.close();
      // No packet numbered, nothing to account for: a sender that never got going (NFLOG
      // could not be opened) leaves nothing queued behind, so it exits without lingering.
      if (this.#o.wire === 'v1' && this.#batcher.nextSeq > 0n)
        this.#finalHeartbeatQueued = await this.#stopHeartbeat();
      await this.#o.pusher.close();
    })();
    return this.#closing;
  }

  /** The heartbeat timer: a heartbeat when drops since the last accepted one may be unseen. */
  #onHeartbeatTimer(): void {
    if (this.#closing !== undefined) return;
    const drops = this.#o.pusher.stats().droppedPackets + this.#droppedShaper;
    if (drops !== this.#dropsSeen) {
      this.#dropsSeen = drops;
      this.#heartbeatOwed = true;
    }
    if (!this.#heartbeatOwed) return;
    // Settles within microtasks (SNDTIMEO 0), so no read can drop a frame in between: an
    // accepted heartbeat carries a firstSeq beyond every drop counted in `drops`.
    void this.#pushHeartbeat(this.#takeMeta()).then((queued) => {
      if (queued) this.#heartbeatOwed = false;
    });
  }

  /** The last heartbeat: retried while the queue is full, for up to stopHeartbeatMs (wall clock). */
  async #stopHeartbeat(): Promise<boolean> {
    // Always with metadata when configured: the final counters, for whoever reads them.
    const meta = this.#o.meta === undefined ? undefined : encodeFrameMeta(this.#o.meta());
    const deadline = performance.now() + this.#stopHeartbeatMs;
    for (;;) {
      if (await this.#pushHeartbeat(meta)) return true;
      if (performance.now() >= deadline) return false;
      await delay(STOP_HEARTBEAT_RETRY_MS);
    }
  }

  /**
   * Offers one heartbeat (count 0, firstSeq = the next number, so every number handed out so
   * far is covered) and resolves whether ZeroMQ accepted it. A refused one is counted by the
   * pusher as a dropped message carrying 0 packets.
   */
  async #pushHeartbeat(meta: Buffer | undefined): Promise<boolean> {
    const pusher = this.#o.pusher;
    const droppedBefore = pusher.stats().droppedMessages;
    const frame = encodeFrame(
      {
        linktype: this.#o.linktype,
        senderId: this.senderId,
        firstSeq: this.#batcher.nextSeq,
        count: 0,
        ...(meta !== undefined ? { meta } : {}),
      },
      NO_RECORDS,
    );
    pusher.push(frame, 0);
    await pusher.settled();
    const queued = pusher.stats().droppedMessages === droppedBefore;
    if (queued) this.#heartbeats++;
    return queued;
  }

  /** Metadata for the next frame when it is due (first frame, then every metaIntervalMs). */
  #takeMeta(): Buffer | undefined {
    if (this.#o.meta === undefined) return undefined;
    const nowMs = this.#now();
    if (nowMs < this.#nextMetaMs) return undefined;
    this.#nextMetaMs = this.#metaIntervalMs > 0 ? nowMs + this.#metaIntervalMs : Infinity;
    return encodeFrameMeta(this.#o.meta());
  }

  #onBatch(
    records: readonly Buffer[],
    count: number,
    firstSeq: bigint,
    index: readonly Buffer[],
  ): void {
    const shaper = this.#o.shaper;
    // The shaper's verdict for a frame is the regime it is in now: a frame it will drop takes
    // no metadata, which then rides in the next frame that goes out.
    const meta = shaper?.regime === 'drop' ? undefined : this.#takeMeta();
    const order = this.#order === undefined ? undefined : orderSection(this.#order, count, index);
    const fields: FrameFields = {
      linktype: this.#o.linktype,
      senderId: this.senderId,
      firstSeq,
      count,
      ...(meta !== undefined ? { meta } : {}),
      ...(order !== undefined ? { order } : {}),
    };
    // One encodeFrame per frame, compressed or not (shapeFrame deflates the pieces and encodes
    // once in the compress regime).
    const frame =
      shaper === undefined ? encodeFrame(fields, records) : shapeFrame(shaper, { fields, records });
    if (frame === null) this.#shaperDrop(count);
    else this.#o.pusher.push(frame, count);
  }

  #shaperDrop(packets: number): void {
    this.#droppedShaper += packets;
    this.#metrics.increment(METRIC.LOSS_SHAPER_PKT, packets);
    this.#shardShaperLoss?.inc(packets);
  }
}

/**
 * The kernel-order section of a frame of `count` records whose index entries are `index` (in
 * record order), or undefined when an entry is missing or lacks NFULA_SEQ_GLOBAL. One pass over
 * the entries, copying one u32 each: no object per packet.
 */
function orderSection(
  o: SendOrderOptions,
  count: number,
  index: readonly Buffer[],
): FrameOrder | undefined {
  const seqGlobal = Buffer.allocUnsafe(count * 4);
  let n = 0;
  for (const piece of index) {
    for (let e = 0; e + NFLOG_INDEX_ENTRY_BYTES <= piece.length; e += NFLOG_INDEX_ENTRY_BYTES) {
      if ((piece[e + NFLOG_INDEX.FLAGS]! & NFLOG_RECORD_FLAG.SEQ_GLOBAL) === 0 || n === count)
        return undefined;
      seqGlobal.writeUInt32LE(piece.readUInt32LE(e + NFLOG_INDEX.SEQ_GLOBAL), n * 4);
      n++;
    }
  }
  if (n !== count) return undefined;
  return { namespaceId: o.namespaceId, delayBoundMs: o.delayBoundMs, seqGlobal };
}
