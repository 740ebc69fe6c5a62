import { resolve as resolvePath } from 'node:path';
import { Pull } from 'zeromq';
import { decodeLegacyShaped, inflateFrameRecords } from '@nflog-pipe/compress';
import { LINKTYPE_NFLOG, LINKTYPE_RAW } from '@nflog-pipe/pcap-writer';
import {
  CurveServer,
  GarbageBudget,
  PeerWatch,
  boundedReceiveOptions,
  decodeFrame,
  isV1Frame,
  legacyPacketsToRecords,
  maxMessageBytes,
  METRIC,
  senderIdHex,
  WireError,
  warnIfPlainExposed,
  type BoundedReceiveOptions,
  type CurveServerConfig,
  type FrameOrder,
  type Logger,
  type Metrics,
} from '@nflog-pipe/shared';
import { ReceiverError } from './errors.js';
import { FifoSink } from './fifo-sink.js';
import { FileSink } from './file-sink.js';
import { convertRecords, isReceiverLinktype } from './linktype-convert.js';
import { checkOutput, type OutputCheck } from './output-check.js';
import { OutputDropWarning } from './output-drop-warning.js';
import {
  OutputFanout,
  type FanoutOutput,
  type OutputName,
  type OutputStats,
} from './output-fanout.js';
import { PcapOverIpServer, type PcapOverIpClientStats } from './pcap-over-ip-server.js';
import type { PcapSink, PcapSinkOptions, PcapSinkStats } from './pcap-sink.js';
import { QueryServer } from './query-server.js';
import { ReceiverMetrics } from './receiver-metrics.js';
import { ReorderWindow, type ReorderStats } from './reorder-window.js';
import { RingBuffer } from './ring-buffer.js';
import { RotatingFileSink } from './rotating-file-sink.js';
import { SequenceTracker, type SenderStats } from './sequence-tracker.js';
import { emptySinkStats, type SinkLossReason } from './sink-ledger.js';

/** Which wire formats the receiver accepts. */
export type WireMode = 'v1' | 'legacy' | 'auto';

/** The PCAP-over-IP output (`--pcap-over-ip`): see PcapOverIpServer. */
export interface PcapOverIpConfig {
  /** Address to listen on. */
  host: string;
  /** TCP port (0: any free one, see Receiver.pcapOverIpAddress). */
  port: number;
  /** Linktype of the stream, 101 or 239 (`--pcap-over-ip-linktype`). */
  linktype: number;
  /** Bound of one client's queue, bytes (`--pcap-over-ip-queue`). */
  clientQueueBytes: number;
  /** Clients served at once (`--pcap-over-ip-clients`). */
  maxClients: number;
}

/** The rotated file output (`--rotate-dir`): see RotatingFileSink. */
export interface RotateConfig {
  /** Directory of the files. */
  dir: string;
  /** Most bytes of one file, header included (`--rotate-size`); 0 = no size limit. */
  maxFileBytes: number;
  /** A file is closed this long after it opened, ms (`--rotate-seconds`); 0 = no time limit. */
  intervalMs: number;
  /** Linktype of the files, 101 or 239 (`--rotate-linktype`). */
  linktype: number;
}

/** Options of {@link Receiver.start}; the CLI converts units at the edge. */
export interface ReceiverOptions {
  /** ZeroMQ endpoints the PULL socket binds (many senders connect to them). */
  endpoints: readonly string[];
  /** FIFO path, regular file path, or `-` for stdout. */
  dest: string;
  /** `auto` (default): v1 frames by their magic, anything else as legacy. */
  wire: WireMode;
  /** Legacy messages carry the 0x00/0x01 rate-control prefix (`--rate-control`). */
  rateControl: boolean;
  /**
   * Linktype of DST (`--fifo-linktype`, `--linktype`): 101 (raw IP, the default: every IDS reads
   * it) or 239 (NFLOG). Frames of 101 and 239 are accepted whatever it is (converted for DST
   * when they differ: linktype-convert.ts); frames of any other linktype are bad frames.
   * Legacy messages are raw IP.
   */
  linktype?: number;
  /** PCAP-over-IP clients served beside DST; undefined = none. */
  pcapOverIp?: PcapOverIpConfig | undefined;
  /** A rotated set of pcap files beside DST; undefined = none. */
  rotate?: RotateConfig | undefined;
  /** Closing a finished rotated file may take this long, ms (the CLI's --flush-timeout). Default 5000. */
  rotateCloseFlushMs?: number;
  /** Write nanosecond timestamps (records converted from microseconds). */
  nanosecond: boolean;
  /** Queue bound of the pcap output while its reader is absent or slow, bytes (`--fifo-buffer`). */
  fifoBufferBytes: number;
  /**
   * FIFO output: raise each reader's pipe to this capacity, bytes (`--fifo-pipe-size`; see
   * `FifoSinkOptions.pipeSizeBytes`). 0 or absent: the kernel's 64 KiB.
   */
  fifoPipeBytes?: number;
  /** Ring size, bytes (`--buffer-window`); 0 = no ring. */
  bufferWindowBytes: number;
  /**
   * Longest hold of the reorder window, ms (`--reorder-window`); 0 = no window: records are
   * written in arrival order, as they came.
   */
  reorderWindowMs: number;
  /** Most bytes of batches the reorder window holds (`--reorder-buffer`). */
  reorderBufferBytes: number;
  /** REP endpoint serving ring dumps (`--buffer-interface`). */
  bufferInterface?: string;
  /** Send timeout of a dump reply, ms (`--buffer-timeout`). */
  bufferTimeoutMs: number;
  /** Cap on one frame's uncompressed records, bytes (inflate bomb guard, `--max-frame`). */
  maxRawBytes: number;
  /**
   * Bytes ZeroMQ may queue for us per connected peer (`--receive-queue`): ZMQ_RCVHWM is this
   * divided by the largest message accepted (ZMQ_MAXMSGSIZE, from `maxRawBytes` and `wire`).
   */
  receiveQueueBytes: number;
  /** Upper limit of ZMQ_RCVHWM, messages (`--zmq-buffer`). */
  receiveHwm: number;
  /**
   * CURVE (`--curve-server`, `--curve-allow`, `--buffer-curve-allow`): the PULL socket admits
   * the `allow` clients, the query socket (with `bufferAllow`) the `bufferAllow` ones; undefined
   * = plain ZeroMQ on both.
   */
  curve?: CurveServerConfig | undefined;
  /** ms between FIFO open attempts / idle reader checks / output retries. Default 200. */
  retryMs?: number;
  metrics: Metrics;
  logger: Logger;
}

/** Totals for the periodic line and the exit summary. */
export interface ReceiverStats {
  /** Packets received in good frames. */
  inPackets: number;
  /** Bytes of those packets as pcap records (16-byte headers included). */
  inBytes: number;
  /**
   * Frames (messages) that failed to decode, had the wrong linktype, or jumped further ahead
   * than their sender could have (see SequenceTracker).
   */
  badFrames: number;
  /** Packets missing from sender sequences. */
  lossNetwork: number;
  /** Frames from a known sender that arrived behind its expected number. */
  behindFrames: number;
  /**
   * Peer connections ZeroMQ dropped: a sender that stopped or restarted, or a message larger
   * than ZMQ_MAXMSGSIZE (libzmq refuses it unread and disconnects that peer).
   */
  disconnects: number;
  /** DST's counters. */
  sink: PcapSinkStats;
  /** Every output's counters (DST first), by its `output` label. */
  outputs: OutputStats[];
  /** The PCAP-over-IP clients connected now (none without that output). */
  pcapOverIpClients: PcapOverIpClientStats[];
  /** Queries served. */
  queries: number;
  /** Packets and bytes in the ring. */
  ringPackets: number;
  ringBytes: number;
  /** The reorder window's counters (all 0 without one). */
  reorder: ReorderStats;
  /** Linktype of DST. */
  linktype: number;
  /** Per-sender counters (v1 frames only). */
  senders: SenderStats[];
  /** Connections to the PULL socket whose handshake succeeded and that are still open. */
  peers: number;
  /** Handshakes refused on either socket (`auth.rejected`): not on an allowlist, no CURVE, wrong server key. */
  authRejected: number;
}

/** ZAP domain of the PULL socket (who may send). */
const DATA_DOMAIN = 'data';
/** ZAP domain of the query socket (who may read). */
const QUERY_DOMAIN = 'query';

// Each received message is garbage once its batch is written out and copied into the ring
// (an inflated frame is one more Buffer, as large or larger): one budget per process, as in the
// sender, since V8's heap is the process's. The receiver's README, "Memory".
const processGarbage = new GarbageBudget();

/**
 * nflog-pcap-recv's engine: a ZeroMQ PULL socket bound on every endpoint, frames decoded (v1 or
 * legacy) into batches of pcap records, each batch written whole to the pcap sink and copied
 * into the ring; loss counted per sender from sequence numbers; bad frames counted and skipped.
 *
 * Each batch's records are walked once: by the decoder's check of a v1 frame (`decodeFrame`, or
 * `inflateFrameRecords` for a compressed one), which also converts them to nanoseconds with
 * `--pcap-nsec`; legacy records are built whole (and in the output's resolution) from the
 * messages, with no walk at all. The count is then known, so the ring and the sink take it as
 * it is and the pcap writer does not walk them again.
 *
 * Memory is bounded whatever peers send: every message above ZMQ_MAXMSGSIZE is refused by
 * libzmq before it is read, each peer's queue holds at most ZMQ_RCVHWM messages (derived from a
 * bytes budget), the sink's queue is bounded in bytes and the ring owns its bytes.
 */
export class Receiver {
  readonly #opts: ReceiverOptions;
  readonly #bounds: BoundedReceiveOptions;
  readonly #pull: Pull;
  readonly #curve: CurveServer | null;
  readonly #peerWatch: PeerWatch;
  readonly #ring: RingBuffer | null;
  readonly #window: ReorderWindow | null;
  readonly #tracker = new SequenceTracker();
  readonly #metrics: ReceiverMetrics;
  readonly #linktype: number;
  /** The linktype of every batch between #accept and the outputs. */
  readonly #pipeLinktype: number;
  readonly #dst: OutputCheck;
  readonly #fanout = new OutputFanout();
  #query: QueryServer | null = null;
  #sink: PcapSink | null = null;
  #pcapOverIp: PcapOverIpServer | null = null;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #ended: Promise<Error | null>;
  #endResolve!: (err: Error | null) => void;
  #warnedLinktype = false;
  #warnedDisconnect = false;
  #bound: string[] = [];
  #warnedBad = new Set<string>();
  readonly #warnedUnconvertible = new Set<OutputName>();
  #stats = {
    inPackets: 0,
    inBytes: 0,
    badFrames: 0,
    lossNetwork: 0,
    behindFrames: 0,
    disconnects: 0,
    authRejected: 0,
  };

  private constructor(options: ReceiverOptions, dst: OutputCheck, curve: CurveServer | null) {
    this.#opts = options;
    this.#dst = dst;
    this.#linktype = options.linktype ?? LINKTYPE_RAW;
    // One linktype between decoding and the outputs: 239 when any output writes it (a 101
    // batch is wrapped, and unwrapped again byte for byte for the 101 outputs), else 101 (a
    // 239 batch loses only what no output would write). Usually no conversion at all.
    const written = [this.#linktype, options.pcapOverIp?.linktype, options.rotate?.linktype];
    this.#pipeLinktype = written.includes(LINKTYPE_NFLOG) ? LINKTYPE_NFLOG : LINKTYPE_RAW;
    const bounds = boundedReceiveOptions(
      maxMessageBytes({
        v1: options.wire !== 'legacy',
        legacy: options.wire !== 'v1',
        rateControl: options.rateControl,
        maxRawBytes: options.maxRawBytes,
      }),
      options.receiveQueueBytes,
    );
    this.#bounds = {
      maxMessageSize: bounds.maxMessageSize,
      receiveHighWaterMark: Math.min(bounds.receiveHighWaterMark, options.receiveHwm),
    };
    this.#curve = curve;
    this.#pull = new Pull({
      ...this.#bounds,
      linger: 0,
      ...(curve !== null ? curve.socketOptions(DATA_DOMAIN) : {}),
    });
    // Before bind, so no handshake goes unseen.
    this.#peerWatch = PeerWatch.watch(this.#pull, {
      role: 'bind',
      endpoint: options.endpoints.join(','),
      logger: options.logger.child({ component: 'receiver' }),
      curve: curve !== null,
      metrics: options.metrics,
      gaugeSocket: 'pull',
      onDisconnect: () => this.#disconnected(),
      ...(curve !== null ? { onRefused: () => this.#rejected('pull') } : {}),
    });
    this.#ring = options.bufferWindowBytes > 0 ? new RingBuffer(options.bufferWindowBytes) : null;
    this.#window =
      options.reorderWindowMs > 0
        ? new ReorderWindow({
            windowMs: options.reorderWindowMs,
            bufferBytes: options.reorderBufferBytes,
            onRelease: (records, count) => this.#deliver(records, count),
            peers: () => this.#peerWatch.peers,
            logger: options.logger.child({ component: 'reorder' }),
          })
        : null;
    const window = this.#window;
    this.#metrics = new ReceiverMetrics(options.metrics, {
      ring: this.#ring,
      reorder: window !== null ? () => window.stats() : null,
      senders: () => this.#tracker.senders(),
      nanosecond: options.nanosecond,
      pcapOverIp: options.pcapOverIp !== undefined,
    });
    this.#ended = new Promise((resolve) => (this.#endResolve = resolve));
  }

  /**
   * Check the output, bind the sockets, open the outputs, start receiving. DST opens now (a
   * FIFO as soon as a reader comes) with its linktype, so an IDS that starts first gets a pcap
   * header at once; PCAP-over-IP listens; rotated files begin with the first batch.
   *
   * @throws ReceiverError `ERR_RECV_OUTPUT` (DST is a directory, in a missing directory, not
   *   writable) before anything is bound, or a `--rotate-dir` that is not a writable directory;
   *   `ERR_RECV_BIND` naming the endpoint (or PCAP-over-IP address) that could not be bound
   *   (the error as `cause`); a CurveError (a certificate or allowlist that cannot be read).
   *   Nothing is left open then.
   */
  static async start(options: ReceiverOptions): Promise<Receiver> {
    const dst = await checkOutput(options.dest);
    const curve = options.curve;
    let r: Receiver | undefined;
    const server =
      curve === undefined
        ? null
        : await CurveServer.start({
            secretCertPath: curve.secretCertPath,
            domains: {
              [DATA_DOMAIN]: curve.allow,
              ...(curve.bufferAllow !== undefined ? { [QUERY_DOMAIN]: curve.bufferAllow } : {}),
            },
            logger: options.logger.child({ component: 'curve' }),
            onRejected: (domain) => {
              if (r !== undefined) r.#rejected(domain === QUERY_DOMAIN ? 'query' : 'pull');
            },
          });
    r = new Receiver(options, dst, server);
    try {
      for (const ep of options.endpoints) {
        await bindNamed(ep, () => r.#pull.bind(ep));
        const bound = r.#pull.lastEndpoint ?? ep;
        r.#bound.push(bound);
        if (server === null) warnIfPlainExposed(bound, 'inject', options.logger);
      }
      if (options.bufferInterface !== undefined && r.#ring !== null) {
        const ep = options.bufferInterface;
        const queryCurve = server?.has(QUERY_DOMAIN) === true ? server : null;
        const query = new QueryServer({
          endpoint: ep,
          ...(queryCurve !== null
            ? {
                socketOptions: queryCurve.socketOptions(QUERY_DOMAIN),
                onRefused: () => r.#rejected('query'),
              }
            : {}),
          timeoutMs: options.bufferTimeoutMs,
          ring: r.#ring,
          format: { nanosecond: options.nanosecond },
          metrics: options.metrics,
          logger: options.logger.child({ component: 'query' }),
        });
        r.#query = query;
        await bindNamed(ep, () => query.start());
        if (queryCurve === null) warnIfPlainExposed(query.boundEndpoint!, 'read', options.logger);
      }
      await r.#openOutputs();
    } catch (err) {
      r.#peerWatch.close();
      r.#pull.close();
      await r.#query?.close();
      await r.#fanout.close(0);
      await server?.close();
      throw err;
    }
    r.#loop = r.#receiveLoop().catch((err: unknown) => r.#endResolve(err as Error));
    return r;
  }

  /** The endpoints actually bound (a `tcp://127.0.0.1:*` shows its port), in bind order. */
  get boundEndpoints(): readonly string[] {
    return this.#bound;
  }

  /** The buffer interface endpoint actually bound, or null without one. */
  get queryEndpoint(): string | null {
    return this.#query?.boundEndpoint ?? null;
  }

  /** ZMQ_MAXMSGSIZE (bytes) and ZMQ_RCVHWM (messages) of the PULL socket. */
  get receiveBounds(): BoundedReceiveOptions {
    return this.#bounds;
  }

  /** The PCAP-over-IP address listened on (a port 0 shows the port), or null without one. */
  get pcapOverIpAddress(): { host: string; port: number } | null {
    return this.#pcapOverIp?.address ?? null;
  }

  /** Resolves when the output ends by itself: null for a stdout reader gone, else the error. */
  get ended(): Promise<Error | null> {
    return this.#ended;
  }

  /**
   * The sink options of output `name`: its metrics, and a warning at the first drop of each
   * episode of a full queue (with what `state` says about the output then).
   */
  #sinkOptions(
    name: OutputName,
    dest: string,
    linktype: number,
    state: () => Record<string, string | number>,
  ): PcapSinkOptions & { onLost(packets: number, why: SinkLossReason): void } {
    const o = this.#opts;
    const metrics = this.#metrics.output(name);
    const logger = o.logger.child({ component: 'output' });
    const drops = new OutputDropWarning({ output: name, dest, state, logger });
    return {
      linktype,
      nanosecond: o.nanosecond,
      queueBytes: o.fifoBufferBytes,
      logger,
      ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
      onOut: metrics.onOut,
      onLost: (packets: number, why: SinkLossReason): void => {
        metrics.onLost(packets);
        drops.lost(packets, why);
      },
      onEnd: (err: Error | null): void => this.#endResolve(err),
    };
  }

  /**
   * Open every output: PCAP-over-IP and the rotated files first (they may fail, and then no DST
   * file has been created), DST last; DST goes first in the fan-out (its reader gets each batch
   * first; its counters are the stats line's out_pkt and loss_fifo_pkt). A failure closes what
   * was opened.
   */
  async #openOutputs(): Promise<void> {
    const o = this.#opts;
    const extras: FanoutOutput[] = [];
    try {
      const p = o.pcapOverIp;
      if (p !== undefined) {
        const metrics = this.#metrics.output('pcap_over_ip');
        const server = await PcapOverIpServer.listen({
          ...p,
          nanosecond: o.nanosecond,
          logger: o.logger.child({ component: 'pcap-over-ip' }),
          onOut: metrics.onOut,
          onLost: metrics.onLost,
          onClients: (n) => this.#metrics.outputClients(n),
        });
        this.#pcapOverIp = server;
        extras.push({
          name: 'pcap_over_ip',
          linktype: p.linktype,
          sink: server,
          onUnconvertible: (n) => this.#unconvertible('pcap_over_ip', n, metrics.onLost),
        });
      }
      const rot = o.rotate;
      if (rot !== undefined) {
        let sink: RotatingFileSink | null = null;
        const opts = this.#sinkOptions('rotate', rot.dir, rot.linktype, () => sink?.state() ?? {});
        sink = await RotatingFileSink.open({
          ...opts,
          dir: rot.dir,
          maxFileBytes: rot.maxFileBytes,
          intervalMs: rot.intervalMs,
          closeFlushMs: o.rotateCloseFlushMs ?? 5000,
        });
        extras.push({
          name: 'rotate',
          linktype: rot.linktype,
          sink,
          onUnconvertible: (n) =>
            this.#unconvertible('rotate', n, (m) => opts.onLost(m, 'unconvertible')),
        });
      }
      this.#fanout.add(await this.#openDst());
    } catch (err) {
      await Promise.all(extras.map((x) => x.sink.close(0)));
      throw err;
    }
    for (const x of extras) this.#fanout.add(x);
  }

  async #openDst(): Promise<FanoutOutput> {
    const o = this.#opts;
    const kind = this.#dst.kind;
    const opts = this.#sinkOptions(kind, o.dest, this.#linktype, () => this.#sink?.state?.() ?? {});
    let sink: PcapSink;
    if (kind === 'fifo') {
      const pipe = o.fifoPipeBytes ?? 0;
      sink = new FifoSink(o.dest, pipe > 0 ? { ...opts, pipeSizeBytes: pipe } : opts);
    } else {
      if (!this.#dst.exists) this.#warnCreating(o.dest);
      try {
        sink = await FileSink.open(o.dest, opts);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new ReceiverError('ERR_RECV_OUTPUT', `output ${o.dest}: ${why}`, { cause: err });
      }
    }
    this.#sink = sink;
    return {
      name: kind,
      linktype: this.#linktype,
      sink,
      onUnconvertible: (n) => this.#unconvertible(kind, n, (m) => opts.onLost(m, 'unconvertible')),
    };
  }

  /** Records output `name` could not take in its linktype: counted lost for it, warned once. */
  #unconvertible(name: OutputName, packets: number, lose: (packets: number) => void): void {
    lose(packets);
    if (this.#warnedUnconvertible.has(name)) return;
    this.#warnedUnconvertible.add(name);
    this.#opts.logger.warn(
      'NFLOG records without a packet (no NFULA_PAYLOAD) cannot be written as raw IP: dropped for this output (counted as its loss; warned once)',
      { output: name, lost_pkt: packets },
    );
  }

  /**
   * DST does not exist: it becomes a regular file, said in the log. Under /run a missing path is
   * almost always a FIFO nobody made (an IDS reading it would wait for nothing): say that too.
   */
  #warnCreating(dest: string): void {
    const log = this.#opts.logger.child({ component: 'output' });
    const abs = resolvePath(dest);
    if (/^\/(?:var\/)?run\//.test(abs)) {
      log.warn(
        'DST does not exist: creating a regular file. A missing path under /run is almost always a forgotten mkfifo: for an IDS reading a FIFO, stop, run mkfifo on it and start again',
        { dst: dest },
      );
    } else {
      log.info('DST does not exist: creating it as a regular file', { dst: dest });
    }
  }

  #disconnected(): void {
    this.#stats.disconnects++;
    this.#metrics.disconnected();
    if (this.#warnedDisconnect) return;
    this.#warnedDisconnect = true;
    this.#opts.logger.info(
      'a peer connection was dropped: a sender stopped, or sent a message over ZMQ_MAXMSGSIZE (counted in disconnects; logged once)',
      { endpoints: this.#bound.join(','), max_msg_bytes: this.#bounds.maxMessageSize },
    );
  }

  async #receiveLoop(): Promise<void> {
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await this.#pull.receive();
      } catch (err) {
        if (this.#stopped || this.#pull.closed) return;
        throw err;
      }
      // The Python receiver joined multipart messages; our senders send one part.
      const msg = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.#handleMessage(msg);
      processGarbage.note(msg.length);
    }
  }

  /**
   * Decode one message and pass its records on. Never throws for bad input: a message that does
   * not decode is counted in `bad_frames` (warned once per error code) and skipped.
   */
  #handleMessage(msg: Buffer): void {
    const wire = this.#opts.wire;
    try {
      if (wire === 'v1' || (wire === 'auto' && isV1Frame(msg))) this.#handleV1(msg);
      else this.#handleLegacy(msg);
    } catch (err) {
      if (err instanceof WireError) this.#bad(err.code, err);
      else throw err;
    }
  }

  #handleV1(msg: Buffer): void {
    // The one walk of the batch: checks the records (and converts them for --pcap-nsec, in
    // place: the message is ours alone). Everything after takes frame.count as it is.
    const { maxRawBytes, nanosecond } = this.#opts;
    const frame = decodeFrame(msg, { maxRawBytes, nanosecond });
    // A heartbeat (count 0) is only a sequence observation: it carries no records, so its
    // linktype is no reason to refuse it.
    if (frame.count > 0 && !this.#acceptLinktype(frame.linktype, frame.count)) return;
    const records = frame.compressed ? inflateFrameRecords(frame, { nanosecond }) : frame.records;
    const verdict = this.#tracker.observe(
      frame.senderId,
      frame.firstSeq,
      frame.count,
      frame.count > 0 ? firstRecordMs(records, nanosecond) : undefined,
    );
    if (verdict.implausible) {
      this.#metrics.refusedPackets(frame.count);
      const err = new ReceiverError(
        'ERR_RECV_SEQUENCE_JUMP',
        `sender ${senderIdHex(frame.senderId)}: sequence ${frame.firstSeq} is further ahead than it could have numbered packets since its previous frame`,
      );
      this.#bad(err.code, err);
      return;
    }
    if (frame.meta !== undefined) this.#metrics.senderMeta(senderIdHex(frame.senderId), frame.meta);
    if (verdict.newSender) {
      this.#opts.logger.info('new sender', {
        sender: senderIdHex(frame.senderId),
        first_seq: frame.firstSeq,
        ...(frame.meta !== undefined ? { meta: frame.meta.toString('utf8') } : {}),
      });
      // Numbers below first_seq were never seen here: an earlier receiver got them, the sender
      // dropped them, or they were in flight when a receiver died. Nobody can count that gap
      // exactly; this line shows its size (docs/operations.md, "What a receiver restart loses").
      if (frame.firstSeq > 0n) {
        this.#opts.logger.warn(
          'sender already past sequence 0: packets before first_seq were not received here',
          {
            sender: senderIdHex(frame.senderId),
            first_seq: frame.firstSeq,
          },
        );
      }
    }
    if (verdict.lost > 0) {
      this.#stats.lossNetwork += verdict.lost;
      this.#metrics.lostNetwork(verdict.lost);
    }
    if (verdict.behind) this.#stats.behindFrames++;
    this.#accept(records, frame.count, frame.linktype, frame.senderId, frame.order);
  }

  #handleLegacy(msg: Buffer): void {
    if (!this.#acceptLinktype(LINKTYPE_RAW, 0)) return;
    const msgs = this.#opts.rateControl
      ? decodeLegacyShaped(msg, { maxInflatedBytes: this.#opts.maxRawBytes })
      : [msg];
    let bad = 0;
    // Built whole from the messages, already in the output's resolution: nothing walks them.
    const records = legacyPacketsToRecords(msgs, {
      nanosecond: this.#opts.nanosecond,
      linktype: LINKTYPE_RAW,
      onBadPacket: (err) => {
        bad++;
        this.#bad(err.code, err);
      },
    });
    this.#accept(records, msgs.length - bad, LINKTYPE_RAW, null, undefined);
  }

  /** `packets`: how many the refused frame carries (counted in loss.bad_frame.pkt). */
  #acceptLinktype(linktype: number, packets: number): boolean {
    if (isReceiverLinktype(linktype)) return true;
    // Only 101 and 239 can be converted into what each output writes; a sender cannot choose
    // another linktype for the IDS (an Ethernet frame in a raw-IP stream is garbage to it).
    if (!this.#warnedLinktype) {
      this.#warnedLinktype = true;
      this.#opts.logger.warn(
        'dropping frames of a linktype the receiver does not take: only 101 (raw IP) and 239 (NFLOG) (counted in bad_frames; warned once)',
        { linktype, output_linktype: this.#linktype },
      );
    }
    this.#stats.badFrames++;
    this.#metrics.badFrame();
    this.#metrics.refusedPackets(packets);
    return false;
  }

  #bad(code: string, err: Error): void {
    this.#stats.badFrames++;
    this.#metrics.badFrame();
    if (!this.#warnedBad.has(code)) {
      this.#warnedBad.add(code);
      this.#opts.logger.warn('bad frame skipped (counted in bad_frames; warned once per code)', {
        code,
        err,
      });
    }
  }

  /**
   * A good batch of `count` checked records of `linktype`: counted, copied into the ring as it
   * arrived (239 stays 239 for dumps, the timestamps as they came), brought to the pipeline's
   * linktype, then put in time order by the reorder window, which hands it to #deliver.
   */
  #accept(
    records: Buffer,
    count: number,
    linktype: number,
    senderId: bigint | null,
    order: FrameOrder | undefined,
  ): void {
    if (count === 0) return;
    this.#stats.inPackets += count;
    this.#stats.inBytes += records.length;
    this.#metrics.received(records.length, count);
    this.#ring?.push(records, count, linktype);
    const b = convertRecords(records, count, linktype, this.#pipeLinktype);
    // Only 239 → 101, when no output writes 239: a record without a packet, lost for all.
    if (b.dropped > 0) this.#fanout.unconvertible(b.dropped);
    // A record dropped there leaves the frame's kernel numbers (one per record) out of step
    // with the records: such a batch is merged by time.
    const o = b.dropped > 0 ? undefined : order;
    if (this.#window !== null) this.#window.push(b.records, b.count, senderId, o);
    else this.#deliver(b.records, b.count);
  }

  /**
   * The one seam between decoding and the outputs: a batch of whole records in the pipeline's
   * linktype, in output order, to every output (each converts to its own). The reorder window
   * between the two passes batches of that one linktype, so it needs no linktype of its own.
   * The delivery delay is taken here, after the window, so its hold is included.
   */
  #deliver(records: Buffer, count: number): void {
    this.#metrics.handedOut(records);
    this.#fanout.push(records, count, this.#pipeLinktype);
  }

  /** SIGHUP: reopen the outputs (DST for its next reader or rotated file; a new rotated file). */
  reopen(): void {
    this.#fanout.reopen();
  }

  /**
   * SIGHUP: read the CURVE allowlists again (see CurveServer.reload: a list that fails to load
   * keeps its keys). New clients are checked against the new lists; connections already
   * admitted stay. Never throws.
   */
  async reloadAllowlists(): Promise<void> {
    await this.#curve?.reload();
  }

  /** One handshake refused on the PULL (`pull`) or the query socket: counted in auth.rejected. */
  #rejected(socket: 'pull' | 'query'): void {
    this.#stats.authRejected++;
    this.#opts.metrics.counter(METRIC.AUTH_REJECTED, { socket }).inc();
  }

  /** Current totals. */
  stats(): ReceiverStats {
    const ring = this.#ring?.stats();
    const outputs = this.#fanout.stats();
    return {
      ...this.#stats,
      sink: outputs.find((x) => x.name === this.#dst.kind)?.stats ?? emptySinkStats(),
      outputs,
      pcapOverIpClients: this.#pcapOverIp?.clients() ?? [],
      queries: this.#query?.served ?? 0,
      ringPackets: ring?.packets ?? 0,
      ringBytes: ring?.bytes ?? 0,
      reorder: this.#window?.stats() ?? {
        heldPackets: 0,
        heldBytes: 0,
        latePackets: 0,
        restampedPackets: 0,
        overflowPackets: 0,
      },
      linktype: this.#linktype,
      senders: this.#tracker.senders(),
      peers: this.#peerWatch.peers,
    };
  }

  /**
   * Stop receiving, give the output up to `flushMs` to take what is queued, close everything
   * (sockets with linger 0). Safe to call twice.
   */
  async stop(flushMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#metrics.close();
    this.#peerWatch.close();
    this.#pull.close();
    await this.#loop?.catch(() => undefined);
    // What the window holds goes out in order before the output's flush.
    this.#window?.close();
    await this.#query?.close();
    await this.#curve?.close();
    await this.#fanout.close(flushMs);
  }
}

/** Run `bind`; a failure becomes ERR_RECV_BIND naming `endpoint` (zeromq.js errors do not). */
async function bindNamed(endpoint: string, bind: () => Promise<void>): Promise<void> {
  try {
    await bind();
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    const why = typeof e.message === 'string' ? e.message : String(err);
    const code = typeof e.code === 'string' && !why.includes(e.code) ? ` (${e.code})` : '';
    throw new ReceiverError('ERR_RECV_BIND', `cannot bind ${endpoint}: ${why}${code}`, {
      cause: err,
    });
  }
}

/** Capture time of the first record of a checked records section, ms since the epoch. */
function firstRecordMs(records: Buffer, nanosecond: boolean): number {
  const frac = records.readUInt32LE(4);
  return records.readUInt32LE(0) * 1000 + (nanosecond ? frac / 1e6 : frac / 1000);
}
