import { setTimeout as sleep } from 'node:timers/promises';
import { Reply } from 'zeromq';
import {
  METRIC,
  PeerWatch,
  QueryRequestError,
  encodeQueryDump,
  encodeQueryError,
  parseQueryRequest,
  type CounterHandle,
  type HistogramHandle,
  type Logger,
  type Metrics,
  type CurveServerSocketOptions,
  type QueryRequest,
} from '@nflog-pipe/shared';
import { queryFilterFrom, selectRecords, type RecordFormat } from './query-filter.js';
import type { RingBuffer } from './ring-buffer.js';

/**
 * Largest query request accepted, bytes (ZMQ_MAXMSGSIZE of the REP socket): a JSON request is
 * a few hundred bytes; a larger message is refused unread and its client disconnected.
 */
export const QUERY_MAX_REQUEST_BYTES = 64 * 1024;

/** ZMQ_RCVHWM of the REP socket, requests per client (REQ clients send one at a time). */
const QUERY_RECEIVE_HWM = 16;

/** Options of {@link QueryServer}. */
export interface QueryServerOptions {
  /** ZeroMQ endpoint the REP socket binds (`--buffer-interface`). */
  endpoint: string;
  /** ZMQ_SNDTIMEO of the REP socket, ms (`--buffer-timeout`, default 1000): a reply that cannot be sent in time is dropped and the socket is recreated. */
  timeoutMs: number;
  /** The ring to dump. */
  ring: RingBuffer;
  /** Timestamp resolution of the ring's records (each batch carries its linktype). */
  format: RecordFormat;
  /** Counts `queries`, their duration and the connected clients. */
  metrics: Metrics;
  /** Lifecycle and per-query debug lines. */
  logger: Logger;
  /** Clock for `lastMs`, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** CURVE server options of the REP socket (its context and ZAP domain); undefined = plain. */
  socketOptions?: CurveServerSocketOptions;
  /** With `socketOptions`: called once per handshake refused other than by the allowlist. */
  onRefused?: () => void;
}

/**
 * The buffer interface: a ZeroMQ REP socket answering each request with a pcap dump of the
 * ring, as a multipart reply `[pcap global header, records sections..., '']` (the Python
 * client concatenates the parts). A JSON `{"v":1,...}` request narrows the dump; a bad one gets
 * a one-part JSON error reply. The protocol (request and reply bytes) is @nflog-pipe/shared's
 * query-protocol.ts (docs/wire-format.md, "Query protocol"); what a request selects, and in
 * which linktype (the ring keeps each batch as it arrived), is query-filter.ts.
 *
 * Serving never stops ingestion: the dump is a snapshot of batch references taken at once, and
 * zeromq.js sends the ring's buffers without copying them.
 */
export class QueryServer {
  readonly #opts: QueryServerOptions;
  #socket: Reply | null = null;
  #watch: PeerWatch | null = null;
  #closed = false;
  #loop: Promise<void> | null = null;
  #served = 0;
  readonly #queries: CounterHandle;
  readonly #duration: HistogramHandle;

  constructor(options: QueryServerOptions) {
    this.#opts = options;
    this.#queries = options.metrics.counter(METRIC.QUERIES);
    this.#duration = options.metrics.histogram(METRIC.QUERY_DURATION);
  }

  /** The endpoint bound (a `tcp://...:*` shows its port), null before start. */
  get boundEndpoint(): string | null {
    return this.#socket?.lastEndpoint ?? null;
  }

  /** Queries answered so far. */
  get served(): number {
    return this.#served;
  }

  /**
   * Bind and start serving.
   *
   * @throws the zeromq.js bind error (e.g. `EADDRINUSE`, `EINVAL` for a bad endpoint)
   */
  async start(): Promise<void> {
    this.#socket = await this.#bind();
    this.#loop = this.#serve().catch((err: unknown) => {
      this.#opts.logger.error('query interface stopped', { endpoint: this.#opts.endpoint, err });
    });
  }

  async #bind(): Promise<Reply> {
    const o = this.#opts;
    const socket = new Reply({
      sendTimeout: o.timeoutMs,
      linger: 0,
      maxMessageSize: QUERY_MAX_REQUEST_BYTES,
      receiveHighWaterMark: QUERY_RECEIVE_HWM,
      ...o.socketOptions,
    });
    this.#watch?.close();
    this.#watch = PeerWatch.watch(socket, {
      role: 'bind',
      endpoint: o.endpoint,
      logger: o.logger,
      curve: o.socketOptions !== undefined,
      metrics: o.metrics,
      gaugeSocket: 'query',
      ...(o.socketOptions !== undefined && o.onRefused !== undefined
        ? { onRefused: o.onRefused }
        : {}),
    });
    try {
      await socket.bind(o.endpoint);
    } catch (err) {
      this.#watch.close();
      socket.close();
      throw err;
    }
    return socket;
  }

  async #serve(): Promise<void> {
    const log = this.#opts.logger;
    while (!this.#closed) {
      const socket = this.#socket!;
      let request: Buffer[];
      try {
        request = await socket.receive();
      } catch (err) {
        if (this.#closed) return;
        log.warn('query receive failed, recreating the socket', { err });
        await this.#rebind();
        continue;
      }
      try {
        await this.#reply(socket, request[0] ?? Buffer.alloc(0));
      } catch (err) {
        if (this.#closed) return;
        // Like the Python tool: a client that does not take its reply within the timeout
        // leaves the REP socket mid-exchange; start over with a fresh socket.
        log.warn('query reply not sent in time, recreating the socket', { err });
        await this.#rebind();
      }
    }
  }

  /**
   * Answer one request. Its own frame, so nothing of the reply outlives it: a dump holds views of
   * the whole ring, and a `reply` left in the serving loop's frame while it awaits the next
   * request would keep every segment of that dump alive until then (measured: a second ring's
   * worth of memory). zeromq.js holds the views only until libzmq has sent them.
   */
  async #reply(socket: Reply, requestBytes: Buffer): Promise<void> {
    const startMs = performance.now();
    await socket.send(this.#answer(requestBytes));
    this.#duration.observe((performance.now() - startMs) / 1000);
  }

  #answer(requestBytes: Buffer): Buffer[] {
    const { ring, logger } = this.#opts;
    const format = this.#opts.format;
    let request: QueryRequest | null;
    try {
      request = parseQueryRequest(requestBytes);
    } catch (err) {
      if (!(err instanceof QueryRequestError)) throw err;
      logger.info('bad query request', { err });
      return [encodeQueryError(err)];
    }
    const filter = queryFilterFrom(request, (this.#opts.now ?? Date.now)());
    const sel = selectRecords(ring.snapshot(), filter, format);
    this.#served++;
    this.#queries.inc();
    logger.debug('query served', {
      structured: filter !== null,
      packets: sel.packets,
      bytes: sel.bytes,
      linktype: sel.linktype,
      unconvertible: sel.unconvertible,
    });
    return encodeQueryDump({ linktype: sel.linktype, nanosecond: format.nanosecond }, sel.parts);
  }

  async #rebind(): Promise<void> {
    // Its watch takes its peers out of connected_peers: the closed socket's clients are gone.
    this.#watch?.close();
    this.#socket?.close();
    this.#socket = null;
    // The old socket's unbind completes in the ZeroMQ I/O thread; retry briefly on EADDRINUSE.
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return;
      try {
        this.#socket = await this.#bind();
        return;
      } catch (err) {
        if (attempt >= 50) throw err;
        await sleep(100);
      }
    }
  }

  /** Stop serving and close the socket (linger 0). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#socket?.close();
    this.#socket = null;
    await this.#loop?.catch(() => undefined);
  }
}
