// nflog-zmq-send's engine: NFLOG groups read through NflogSocket into one stream per endpoint
// (a ShardSet of SendPipelines: batches, sequence numbers, shaper, heartbeats, each onto its own
// never-blocking PUSH socket; with several endpoints flows are sharded or duplicated);
// privileges dropped once the netlink socket is open; kernel counters folded into the metrics.
// The CLI parses, converts units and starts it; tests and later features add options here, not
// flags there.

import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { RateShaper, type RateControlOptions } from '@nflog-pipe/compress';
import { NflogSocket, type NflogSocketOptions, type NflogStats } from '@nflog-pipe/nflog-native';
import {
  MIB,
  VERSION,
  CurveError,
  loadCurveClient,
  type CurveClientConfig,
  type CurveClientKeys,
  type Logger,
  type Metrics,
} from '@nflog-pipe/shared';
import { SenderError } from './errors.js';
import { KernelCounters } from './kernel-counters.js';
import { dropPrivileges, type UserIds } from './privileges.js';
import { ACCOUNTING_DEFAULT_MAX_SERIES, RuleAccounting } from './rule-accounting.js';
import type { SendPipelineStats, WireFormat } from './send-pipeline.js';
import { ShardSet, type ShardStats } from './shard-set.js';
import type { ShardMode } from './shard-router.js';

/** Default {@link SenderOptions.kernelStatsPollMs}, ms. */
export const SENDER_KERNEL_STATS_POLL_MS = 1000;

/**
 * When the groups cannot be unbound at stop, how much longer than the kernel's flush timeout
 * the sender keeps reading, ms: the kernel's timer runs in jiffies (up to 10 ms at HZ=100) and
 * its batch still has to be read.
 */
export const SENDER_STOP_FLUSH_MARGIN_MS = 50;

/**
 * The kernel knobs of the sender, passed to NflogSocket.open as they are: the socket knows the
 * kernel's limits, clamps what the kernel would clamp or ignore, and lists each case in its
 * `warnings`, which the sender logs at start. Undefined = the socket's default.
 */
export type SenderNflogOptions = Pick<
  NflogSocketOptions,
  | 'copyRangeBytes'
  | 'nlbufsizBytes'
  | 'qthresh'
  | 'timeoutMs'
  | 'rcvbufBytes'
  | 'checksums'
  | 'orderHoldMs'
  | 'flowKey'
>;

/** How a sender with several endpoints shares its packets (sender README, "Sharding"). */
export interface SenderShardOptions {
  /** 'flow': each flow to one endpoint (by its flow hash); 'duplicate': everything to every one. */
  mode: ShardMode;
  /**
   * 'flow': a shard without a receiver (or with its queue full) this long goes out and its flows
   * move to the others; back this long, they return, ms. 0: never. Default 5000.
   */
  failoverMs?: number;
}

/** Default {@link SenderShardOptions.failoverMs}, ms. */
export const SENDER_SHARD_FAILOVER_MS = 5000;

/** Options of {@link Sender.start}, in bytes and ms (the CLI converts units at the edge). */
export interface SenderOptions {
  /** NFLOG groups to read: 1 to 32 distinct, 0..65535. */
  groups: readonly number[];
  /**
   * ZeroMQ endpoints, one PUSH socket each. One: every packet goes there. Several: one stream
   * per endpoint (shard), sharing the packets as `shard` says.
   */
  endpoints: readonly string[];
  /** With several endpoints: how they share the packets; default flow, failover after 5 s. */
  shard?: SenderShardOptions;
  /** 'v1' (frames) or 'legacy' (one XDR message per packet). */
  wire: WireFormat;
  /** pcap linktype of the records: 101 raw IP, 239 NFLOG (v1 only). */
  linktype: 101 | 239;
  /**
   * v1: every frame with records carries a kernel-order section (the namespace identity, the
   * delay bound, NFULA_SEQ_GLOBAL per record; docs/wire-format.md). false: plain v1 frames, for
   * receivers and relays that predate WIRE_FLAG_KERNEL_ORDER. Default true.
   */
  wireOrder?: boolean;
  /** Kernel knobs (NFULA_CFG_*, SO_RCVBUFFORCE); see {@link SenderNflogOptions}. */
  nflog: SenderNflogOptions;
  /** ZMQ_SNDHWM, messages (v1: frames; legacy: packets). */
  sendHighWaterMark: number;
  /**
   * ZMQ_SNDBUF, bytes (0: the OS default). What the kernel holds there when a receiver dies is
   * lost uncounted (docs/operations.md, "What a receiver restart loses"); the ZeroMQ queue is
   * kept for the restarted receiver.
   */
  sendBufferBytes: number;
  /** At stop, how long queued messages may still be delivered (ZMQ_LINGER), ms; the stop heartbeat waits as long for room. */
  lingerMs: number;
  /** Warn when no receiver has been connected for this long, ms (0: never). Default 5000. */
  noReceiverWarnMs?: number;
  /** Largest records section of one v1 frame, bytes. */
  batchBytes: number;
  /** Most packets in one v1 frame. */
  batchPackets: number;
  /** A partial v1 batch is sent this long after its first packet, ms (0: after every read). */
  flushIntervalMs: number;
  /** v1 metadata (host, pid, groups, drop counts) again after this long, ms (0: first frame only). */
  metaIntervalMs: number;
  /** v1: after drops, a heartbeat at most once per this period, ms (0: only at stop). */
  heartbeatIntervalMs: number;
  /** Rate control (compress above lwm, drop above hwm); undefined = off. */
  rateControl?: RateControlOptions | undefined;
  /** User to become once the netlink socket is open; undefined = stay. */
  user?: UserIds | undefined;
  /**
   * CURVE (`--curve-client`, `--curve-server-key`): the certificate files, read at start, before
   * privileges are dropped; undefined = plain ZeroMQ.
   */
  curve?: CurveClientConfig | undefined;
  /** How often the kernel counters are folded into the metrics (and ENOBUFS warned about), ms. Default 1000. */
  kernelStatsPollMs?: number;
  /**
   * Accounting by rule, with Prometheus export on (`metrics.prometheus`): keys (group, log
   * prefix) the native table counts; 0 = off. Default ACCOUNTING_DEFAULT_MAX_SERIES (256).
   */
  accountMaxSeries?: number;
  /** Export each `key=value;...` log prefix as labels instead of `prefix="..."` (--prefix-labels). */
  prefixLabels?: boolean;
  /** raw_in, raw_out, loss.* counters. */
  metrics: Metrics;
  /** Log lines (components `sender` and `shaper`). */
  logger: Logger;
}

/**
 * Counters of a {@link Sender}: the streams' (summed over the shards; `read` counts each packet
 * once, `sent` and the drops count each copy in duplicate mode), the kernel's, and each shard's.
 */
export interface SenderStats extends SendPipelineStats {
  /** Each stream's counters, in endpoint order (one with one endpoint). */
  shards: ShardStats[];
  /** Packets the kernel dropped before they were read (NFLOG sequence gaps), exact. */
  kernelDropped: number;
  /** ENOBUFS overrun episodes on the netlink socket. */
  enobufs: number;
  /** Records cut short (copy range, snaplen, NFLOG's 65531-byte limit, BIG TCP). */
  truncated: number;
  /** Locally generated packets whose checksums were completed as on the wire. */
  checksumsFixed: number;
  /** Locally generated packets whose checksums could not be completed (cut, fragments). */
  checksumsIncomplete: number;
  /** Packets shipped after a newer one: out of kernel order (rare; see nflog-native). */
  orderLate: number;
}

/**
 * The sender engine, the mirror of the receiver's `Receiver`: {@link Sender.start} opens
 * everything, {@link Sender.stop} flushes and closes, {@link Sender.stats} reports. Every packet
 * read is sent or counted as dropped; once stop() has resolved, read = sent + droppedQueue +
 * droppedShaper.
 */
export class Sender {
  #o: SenderOptions;
  #log: Logger;
  /** Set by #connect(), right after the groups are bound (see start()). */
  #streams!: ShardSet;
  #kernel: KernelCounters;
  #nflog: NflogSocket | undefined;
  /** The socket's counters when it was closed. */
  #lastKernel: NflogStats | undefined;
  #poll: NodeJS.Timeout | undefined;
  #rules: RuleAccounting | null;
  #unhook: () => void = () => {};
  #ended: Promise<Error>;
  #fail!: (err: Error) => void;
  #stopping: Promise<void> | undefined;

  private constructor(options: SenderOptions, log: Logger) {
    this.#o = options;
    this.#log = log;
    this.#kernel = new KernelCounters(options.metrics, this.#log);
    this.#rules =
      options.metrics.prometheus === null
        ? null
        : new RuleAccounting(options.metrics, options.prefixLabels ?? false);
    this.#ended = new Promise((resolve) => (this.#fail = resolve));
  }

  /** This start's random sender id (v1 frames) of the first (with one endpoint: the) stream. */
  get senderId(): bigint {
    return this.#streams.senderIds[0]!;
  }

  /** Every stream's sender id, in endpoint order. */
  get senderIds(): bigint[] {
    return this.#streams.senderIds;
  }

  /**
   * Opens the NFLOG groups (the only step that needs CAP_NET_ADMIN), drops privileges when
   * `user` is set, connects the PUSH socket and starts reading. The groups are bound first:
   * until then the kernel drops what the rules log and nobody counts it, while from then on it
   * holds packets in the socket's receive buffer until they are read, so loading and starting
   * ZeroMQ comes after (docs/operations.md, "Start-up"). On failure whatever was opened is
   * closed again (nothing was numbered, so nothing lingers) before the promise rejects.
   *
   * @throws ShaperRangeError (a RangeError) for rate-control values the shaper rejects;
   *   SenderError `ERR_SENDER_NFLOG_OPEN` (the NflogError as `cause`: EPERM without
   *   CAP_NET_ADMIN or when another socket has a group, bad options), `ERR_SENDER_PRIVDROP`,
   *   `ERR_SENDER_CONNECT` (ZeroMQ refused the endpoint); CurveError for a certificate that
   *   cannot be used (nothing is opened then)
   */
  static async start(options: SenderOptions): Promise<Sender> {
    // The certificates are read first: before anything is bound (a bad file opens nothing) and
    // before -u drops the privileges they may need. File reads only: libzmq itself still loads
    // after the groups are bound.
    const curve: CurveClientKeys | undefined =
      options.curve === undefined
        ? undefined
        : await loadCurveClient(options.curve, options.logger.child({ component: 'sender' }));
    return Sender.#startNow(options, curve);
  }

  static #startNow(options: SenderOptions, curve: CurveClientKeys | undefined): Sender {
    const several = options.endpoints.length > 1;
    const rc = options.rateControl;
    // One shaper per stream: each link has its rate. Made first: bad values open nothing.
    const shapers =
      rc === undefined
        ? undefined
        : options.endpoints.map((_, i) =>
            createShaper(rc, options.logger, several ? i : undefined),
          );
    const sender = new Sender(options, options.logger.child({ component: 'sender' }));
    sender.#open();
    try {
      // Synchronous, like #open(): the socket's first batch is delivered from the event loop,
      // so it always finds the streams in place.
      sender.#connect(shapers, curve);
    } catch (err) {
      sender.#nflog?.close();
      throw err;
    }
    sender.#startKernelPoll();
    return sender;
  }

  #connect(shapers: RateShaper[] | undefined, curve: CurveClientKeys | undefined): void {
    const o = this.#o;
    try {
      this.#streams = ShardSet.connect({
        endpoints: o.endpoints,
        mode: o.shard?.mode ?? 'flow',
        failoverMs: o.shard?.failoverMs ?? SENDER_SHARD_FAILOVER_MS,
        ...(shapers !== undefined ? { shaper: (i: number) => shapers[i]! } : {}),
        meta: () => this.#meta(),
        stream: {
          sendHighWaterMark: o.sendHighWaterMark,
          sendBufferBytes: o.sendBufferBytes,
          lingerMs: o.lingerMs,
          logger: this.#log,
          ...(o.noReceiverWarnMs !== undefined ? { noReceiverWarnMs: o.noReceiverWarnMs } : {}),
          curve,
          wire: o.wire,
          linktype: o.linktype,
          batchBytes: o.batchBytes,
          batchPackets: o.batchPackets,
          flushIntervalMs: o.flushIntervalMs,
          legacyFlushMs: o.rateControl?.flushMs,
          metrics: o.metrics,
          metaIntervalMs: o.metaIntervalMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          // The stop heartbeat may wait for room in the queue as long as queued frames may linger.
          stopHeartbeatMs: o.lingerMs,
        },
      });
    } catch (err) {
      // A libzmq without CURVE is not the command line's fault: it stays a CurveError (exit 1).
      if (err instanceof RangeError || err instanceof CurveError) throw err;
      throw new SenderError(
        'ERR_SENDER_CONNECT',
        `cannot connect to ${o.endpoints.join(' ')}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const sock = this.#nflog!;
    if (o.wire === 'v1' && o.wireOrder !== false) {
      // The longest a record waits here before its frame is queued: the kernel's flush timeout,
      // the kernel-order hold, then the batcher's flush interval.
      this.#streams.setOrder({
        namespaceId: sock.namespaceId,
        delayBoundMs: sock.timeoutMs + sock.orderHoldMs + o.flushIntervalMs,
      });
    }
  }

  #open(): void {
    const { groups, nflog, linktype, user } = this.#o;
    try {
      this.#nflog = NflogSocket.open(
        {
          ...nflog,
          groups,
          linktype,
          // The table is only read by the Prometheus export.
          accountMaxSeries:
            this.#rules === null ? 0 : (this.#o.accountMaxSeries ?? ACCOUNTING_DEFAULT_MAX_SERIES),
          onError: (err) =>
            this.#fail(
              new SenderError('ERR_SENDER_NFLOG_READ', 'reading NFLOG failed', { cause: err }),
            ),
        },
        (records, count, index) => this.#streams.push(records, count, index),
      );
    } catch (err) {
      throw new SenderError(
        'ERR_SENDER_NFLOG_OPEN',
        `cannot read NFLOG group${groups.length > 1 ? 's' : ''} ${groups.join(',')}`,
        { cause: err },
      );
    }
    for (const w of this.#nflog.warnings) this.#log.warn(w);
    if (user !== undefined) {
      try {
        dropPrivileges(user);
      } catch (err) {
        this.#nflog.close();
        throw new SenderError('ERR_SENDER_PRIVDROP', 'cannot drop privileges', { cause: err });
      }
      this.#log.info('dropped privileges', { user: user.name, uid: user.uid, gid: user.gid });
    }
  }

  #startKernelPoll(): void {
    const sock = this.#nflog!;
    this.#poll = setInterval(
      () => this.#kernel.sync(sock.stats()),
      this.#o.kernelStatsPollMs ?? SENDER_KERNEL_STATS_POLL_MS,
    );
    // unref: the netlink socket keeps the process alive; stop() clears the timer.
    this.#poll.unref();
    // Each export (statsd flush, scrape) sees the kernel's counters and the accounting as of now.
    this.#unhook = this.#o.metrics.onExport(() => {
      if (sock.closed) return;
      this.#kernel.sync(sock.stats());
      this.#rules?.sync(sock.account());
    });
  }

  /** Rejects never; resolves with the fatal error (ERR_SENDER_NFLOG_READ) if reading stops on one. */
  get ended(): Promise<Error> {
    return this.#ended;
  }

  /** The v1 metadata section's content: who we are; each stream adds what it dropped so far. */
  #meta(): Record<string, unknown> {
    return {
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      groups: this.#o.groups,
      // At stop (the stop heartbeat) the socket is closed: its last counters are kept.
      kernelDropped:
        this.#nflog?.closed === false
          ? this.#nflog.stats().kernelDropped
          : this.#lastKernel?.kernelDropped,
    };
  }

  /**
   * Counters now (the kernel's are folded into the metrics on the way); exact once stop() has
   * resolved.
   */
  stats(): SenderStats {
    const k =
      this.#nflog !== undefined && !this.#nflog.closed
        ? this.#kernel.sync(this.#nflog.stats())
        : this.#lastKernel;
    const streams = this.#streams.stats();
    return {
      ...streams.total,
      shards: streams.shards,
      kernelDropped: k?.kernelDropped ?? 0,
      enobufs: k?.enobufs ?? 0,
      truncated: k?.truncated ?? 0,
      checksumsFixed: k?.checksumsFixed ?? 0,
      checksumsIncomplete: k?.checksumsIncomplete ?? 0,
      orderLate: k?.orderLate ?? 0,
    };
  }

  /**
   * Takes from the kernel everything it logged for our groups before the stop, so it is sent or
   * counted like any other packet: unbinding the groups makes the kernel send the batches it
   * still holds, and they are read before this returns (closing the socket alone would lose
   * them: the kernel flushes to a socket that is gone). Without CAP_NET_ADMIN (after `-u`) the
   * kernel refuses the unbind; then every packet logged before now reaches the socket within
   * the flush timeout, so reading goes on that long before a last drain.
   */
  async #drainKernel(sock: NflogSocket): Promise<void> {
    try {
      sock.unbind();
      return;
    } catch (err) {
      const waitMs = sock.flushTimeoutMs + SENDER_STOP_FLUSH_MARGIN_MS;
      this.#log.info('cannot unbind the NFLOG groups at stop: reading on for the flush timeout', {
        err,
        wait_ms: waitMs,
      });
      await delay(waitMs);
      sock.drain();
    }
  }

  /**
   * Takes what the kernel still holds for our groups and closes the netlink socket (see
   * #drainKernel; what the kernel-order merge holds is handed on too), so nothing new arrives;
   * then flushes the partial batch, sends the stop heartbeat (retried for up to `lingerMs`
   * while the queue is full) and closes the PUSH socket (ZMQ_LINGER `lingerMs`). Warns when
   * the stop heartbeat never found room, since the receiver may then not count the last drops.
   * Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#poll);
      this.#unhook();
      if (this.#nflog !== undefined && !this.#nflog.closed) {
        await this.#drainKernel(this.#nflog);
        // Records still held for kernel order (the unbind failed) go into the last batch.
        this.#nflog.flush();
        this.#lastKernel = this.#kernel.sync(this.#nflog.stats());
        this.#rules?.sync(this.#nflog.account());
        this.#nflog.close();
      }
      await this.#streams.close();
    })();
    return this.#stopping;
  }
}

function createShaper(rc: RateControlOptions, logger: Logger, shard?: number): RateShaper {
  const log = logger.child({ component: 'shaper', ...(shard !== undefined ? { shard } : {}) });
  return new RateShaper({
    lwmBps: rc.lwmBps,
    hwmBps: rc.hwmBps,
    windowBytes: rc.windowBytes,
    onRegimeChange: (regime, rateBps, previous) =>
      log.info('rate regime changed', {
        regime,
        previous,
        rate_mib_s: Math.round((rateBps / MIB) * 100) / 100,
      }),
  });
}
