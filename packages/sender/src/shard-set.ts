// The sender's output: one stream per endpoint (its own PUSH socket, queue and high-water mark,
// sender id and sequence numbers, heartbeats and kernel-order section), the router that hands
// each read to them, and failover. With one endpoint it is exactly the one stream of before:
// no router work, no shard labels, the same metadata. Per-shard counters go to the stats line,
// statsd (shard.N.*) and Prometheus ({shard, endpoint}).

import type { RateShaper } from '@nflog-pipe/compress';
import { METRIC, type CounterHandle, type GaugeHandle, type Logger } from '@nflog-pipe/shared';
import {
  SendPipeline,
  type SendOrderOptions,
  type SendPipelineStats,
  type SendStreamOptions,
} from './send-pipeline.js';
import { ShardFailover, type ShardFailoverEvent, type ShardHealth } from './shard-failover.js';
import { ShardRouter, type ShardLabels, type ShardMode } from './shard-router.js';

/** Longest pause between two health samples of the shards, ms (a quarter of the failover time when shorter). */
const FAILOVER_SAMPLE_MAX_MS = 1000;
/** Shortest pause between two health samples, ms. */
const FAILOVER_SAMPLE_MIN_MS = 20;

/** What every shard's stream shares: SendStreamOptions without what differs per shard. */
export type ShardStreamOptions = Omit<
  SendStreamOptions,
  'endpoint' | 'shard' | 'shaper' | 'meta' | 'senderId'
>;

/** Options of {@link ShardSet.connect}. */
export interface ShardSetOptions {
  /** What every stream shares (its socket options, batching, wire, logger, metrics, CURVE...). */
  stream: ShardStreamOptions;
  /** One stream per endpoint, in this order (shard N is endpoints[N]). */
  endpoints: readonly string[];
  /** How the packets are shared with several endpoints (ignored with one). */
  mode: ShardMode;
  /**
   * Flow mode: a shard unhealthy (no receiver connected, or its queue full) this long goes out
   * and its flows move to the others; connected again this long, it comes back, ms. 0: never.
   */
  failoverMs: number;
  /** Each shard's rate control (its own window: each link has its own rate); undefined = off. */
  shaper?: (shard: number) => RateShaper;
  /** The metadata every shard's frames carry, before its own drop counts are added. */
  meta?: () => Record<string, unknown>;
}

/** One shard's counters. */
export interface ShardStats {
  /** Its position in the endpoint list, from 0. */
  shard: number;
  endpoint: string;
  /** Its stream's sender id (v1 frames). */
  senderId: bigint;
  /** Flows are routed to it now (false: out after a failover). */
  live: boolean;
  /** Packets handed to it (in duplicate mode: every packet read). */
  routed: number;
  /** Packets in messages its ZeroMQ queue accepted. */
  sent: number;
  /** Packets dropped because its queue was full. */
  droppedQueue: number;
  /** Packets its rate control dropped. */
  droppedShaper: number;
  /** A receiver is connected, by handshake. */
  connected: boolean;
  /** Failovers that moved its flows away, and back. */
  movedOut: number;
  movedIn: number;
  /** The sequence number its next packet gets (= packets numbered so far). */
  nextSeq: bigint;
}

/** One shard's metrics and failover bookkeeping. */
interface Shard {
  labels: ShardLabels;
  pipeline: SendPipeline;
  live: GaugeHandle | undefined;
  movedOut: CounterHandle | undefined;
  movedIn: CounterHandle | undefined;
  /** Messages offered to its queue when it last came back (its queue state is older than that). */
  offeredAtReturn: number;
}

/** Messages whose outcome is known: a queue refusal after this many counts as news. */
function offered(s: SendPipelineStats): number {
  return s.sentMessages + s.droppedMessages;
}

/** The sender's streams, one per endpoint (see the file comment). */
export class ShardSet {
  readonly #o: ShardSetOptions;
  readonly #log: Logger;
  readonly #shards: Shard[];
  readonly #router: ShardRouter;
  readonly #failover: ShardFailover | undefined;
  #sampleTimer: NodeJS.Timeout | undefined;
  #captured: CounterHandle | undefined;
  #capturedBytes: CounterHandle | undefined;
  #read = 0;
  #readBytes = 0;
  #closing: Promise<void> | undefined;

  private constructor(o: ShardSetOptions, pipelines: SendPipeline[]) {
    this.#o = o;
    this.#log = o.stream.logger;
    const metrics = o.stream.metrics;
    const several = pipelines.length > 1;
    const prom = metrics.prometheus !== null;
    this.#shards = pipelines.map((pipeline, i) => {
      const labels = { shard: String(i), endpoint: o.endpoints[i]! };
      const flow = several && o.mode === 'flow';
      const live = several && prom ? metrics.gauge(METRIC.SHARD_LIVE, labels) : undefined;
      live?.set(1);
      return {
        labels,
        pipeline,
        live,
        movedOut: flow ? metrics.counter(METRIC.SHARD_MOVED_OUT, labels) : undefined,
        movedIn: flow ? metrics.counter(METRIC.SHARD_MOVED_IN, labels) : undefined,
        offeredAtReturn: 0,
      };
    });
    if (several) {
      // One endpoint: the pipeline counts what it is given as captured. Several: each counts
      // what it is routed, and the capture is counted here, once.
      this.#captured = metrics.counter(METRIC.CAPTURED_PKT);
      this.#capturedBytes = metrics.counter(METRIC.CAPTURED_BYTES);
    }
    this.#router = new ShardRouter({ mode: o.mode, endpoints: o.endpoints, sinks: pipelines });
    if (several && o.mode === 'flow' && o.failoverMs > 0) {
      this.#failover = new ShardFailover({
        shards: pipelines.length,
        failoverMs: o.failoverMs,
        onEvent: (e) => this.#onFailover(e),
      });
      const everyMs = Math.min(
        FAILOVER_SAMPLE_MAX_MS,
        Math.max(FAILOVER_SAMPLE_MIN_MS, Math.floor(o.failoverMs / 4)),
      );
      this.#sampleTimer = setInterval(() => this.#sample(), everyMs);
      // unref: the netlink socket keeps the process alive; close() clears the timer.
      this.#sampleTimer.unref();
    }
  }

  /**
   * Connects one stream per endpoint (see SendPipeline.connect); on a failure the streams
   * already made are closed again (nothing was numbered, so nothing lingers).
   * @throws as SendPipeline.connect, and RangeError for no endpoint or a repeated one
   */
  static connect(options: ShardSetOptions): ShardSet {
    const { endpoints, shaper, meta, stream } = options;
    if (endpoints.length === 0) throw new RangeError('no endpoint');
    if (new Set(endpoints).size !== endpoints.length)
      throw new RangeError(`an endpoint is given twice: ${endpoints.join(' ')}`);
    const several = endpoints.length > 1;
    const pipelines: SendPipeline[] = [];
    // Filled in below; a pipeline asks for its metadata only once it has packets to send.
    let set: ShardSet | undefined;
    try {
      endpoints.forEach((endpoint, i) => {
        pipelines.push(
          SendPipeline.connect({
            ...stream,
            endpoint,
            shaper: shaper?.(i),
            ...(several ? { shard: { shard: String(i), endpoint } } : {}),
            ...(meta !== undefined ? { meta: () => set!.#meta(i, meta) } : {}),
          }),
        );
      });
    } catch (err) {
      for (const p of pipelines) void p.close();
      throw err;
    }
    set = new ShardSet(options, pipelines);
    return set;
  }

  /** Each stream's sender id, in endpoint order. */
  get senderIds(): bigint[] {
    return this.#shards.map((s) => s.pipeline.senderId);
  }

  /** Number of streams (endpoints). */
  get size(): number {
    return this.#shards.length;
  }

  /** Hands one read on (NflogSocket's onBatch arguments): to its one stream, or to the router. */
  push(records: Buffer, count: number, index: Buffer): void {
    if (this.#captured !== undefined && count > 0 && this.#closing === undefined) {
      const bytes = records.length - 16 * count;
      this.#read += count;
      this.#readBytes += bytes;
      this.#captured.inc(count);
      this.#capturedBytes!.inc(bytes);
    }
    this.#router.push(records, count, index);
  }

  /** Every stream's frames carry a kernel-order section from now on (SendPipeline.setOrder). */
  setOrder(order: SendOrderOptions | undefined): void {
    for (const s of this.#shards) s.pipeline.setOrder(order);
  }

  /**
   * The counters summed over the streams (read: what was given to push(), once; connected:
   * every stream has a receiver), and each stream's own.
   */
  stats(): { total: SendPipelineStats; shards: ShardStats[] } {
    const each = this.#shards.map((s) => s.pipeline.stats());
    const live = this.#router.live;
    const shards = this.#shards.map((s, i): ShardStats => {
      const p = each[i]!;
      return {
        shard: i,
        endpoint: s.labels.endpoint,
        senderId: s.pipeline.senderId,
        live: live[i] === true,
        routed: p.read,
        sent: p.sent,
        droppedQueue: p.droppedQueue,
        droppedShaper: p.droppedShaper,
        connected: p.connected === true,
        movedOut: s.movedOut?.value ?? 0,
        movedIn: s.movedIn?.value ?? 0,
        nextSeq: p.nextSeq,
      };
    });
    if (each.length === 1) return { total: each[0]!, shards };
    const sum = (f: (p: SendPipelineStats) => number): number => each.reduce((n, p) => n + f(p), 0);
    return {
      total: {
        read: this.#read,
        readBytes: this.#readBytes,
        sent: sum((p) => p.sent),
        sentBytes: sum((p) => p.sentBytes),
        droppedQueue: sum((p) => p.droppedQueue),
        droppedShaper: sum((p) => p.droppedShaper),
        sentMessages: sum((p) => p.sentMessages),
        droppedMessages: sum((p) => p.droppedMessages),
        heartbeats: sum((p) => p.heartbeats),
        nextSeq: each.reduce((n, p) => n + p.nextSeq, 0n),
        connected: each.every((p) => p.connected === true),
        queueFull: each.some((p) => p.queueFull),
      },
      shards,
    };
  }

  /** Flushes every stream's partial batch now. */
  flush(): void {
    for (const s of this.#shards) s.pipeline.flush();
  }

  /**
   * Closes every stream (each flushes, sends its stop heartbeat and lingers, at the same time)
   * and stops failover. Warns for each stream whose stop heartbeat never found room after drops.
   * Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sampleTimer);
      await Promise.all(this.#shards.map((s) => s.pipeline.close()));
      for (const s of this.#shards) {
        const fin = s.pipeline.stats();
        if (s.pipeline.finalHeartbeatQueued === false && fin.droppedQueue + fin.droppedShaper > 0)
          this.#log.warn(
            'the final heartbeat found the ZeroMQ queue full until --zmq-linger: the receiver may not count the last drops',
            this.#shards.length > 1
              ? {
                  shard: Number(s.labels.shard),
                  endpoint: s.labels.endpoint,
                  next_seq: fin.nextSeq,
                }
              : { next_seq: fin.nextSeq },
          );
      }
    })();
    return this.#closing;
  }

  /** Shard `i`'s metadata: the sender's, its own drops, and which shard of how many it is. */
  #meta(i: number, base: () => Record<string, unknown>): Record<string, unknown> {
    const p = this.#shards[i]!.pipeline.stats();
    return {
      ...base(),
      queueDropped: p.droppedQueue,
      shaperDropped: p.droppedShaper,
      ...(this.#shards.length > 1
        ? { shard: i, shards: this.#shards.length, shardMode: this.#o.mode }
        : {}),
    };
  }

  /** One health sample of every shard, for the failover. */
  #sample(): void {
    if (this.#closing !== undefined) return;
    const health = this.#shards.map((s): ShardHealth => {
      const p = s.pipeline.stats();
      return {
        connected: p.connected === true,
        // A refusal from before the shard last came back says nothing about its queue now.
        queueFull: p.queueFull && offered(p) > s.offeredAtReturn,
      };
    });
    this.#failover!.observe(health, performance.now());
  }

  #onFailover(e: ShardFailoverEvent): void {
    const s = this.#shards[e.shard]!;
    const log = this.#log;
    const where = { shard: e.shard, endpoint: s.labels.endpoint };
    if (e.type === 'kept') {
      log.warn('shard unhealthy, but no other shard is live: its flows stay', {
        ...where,
        why: e.why,
      });
      return;
    }
    const live = this.#failover!.live;
    this.#router.setLive(live);
    const liveCount = live.filter(Boolean).length;
    if (e.type === 'out') {
      s.movedOut?.inc();
      s.live?.set(0);
      log.warn('shard out: its flows move to the other shards', {
        ...where,
        why: e.why,
        after_ms: Math.round(e.unhealthyMs),
        live: liveCount,
      });
    } else {
      s.movedIn?.inc();
      s.live?.set(1);
      s.offeredAtReturn = offered(s.pipeline.stats());
      log.info('shard back: its flows return', {
        ...where,
        after_ms: Math.round(e.connectedMs),
        live: liveCount,
      });
    }
  }
}
