// Who is really connected, and why a connection failed, from a socket's monitor events
// (zeromq.js `socket.events`, ZMQ_EVENT_*). A peer counts once its ZMTP handshake has
// succeeded (`handshake`), never at TCP accept or connect: a client that a CURVE server refuses,
// or one that speaks no CURVE, completes the TCP handshake and nothing else.
//
// Every connection that fails ends with exactly one `handshake:error:*` event and then
// `disconnect` (libzmq's stream engine reports the failure before closing), so a disconnect
// after a failure is not a peer leaving.
//
// Connecting side: libzmq retries a connection that broke, but gives up for good on a protocol
// failure (the server's ERROR command, as after a ZAP refusal, or a mechanism mismatch). A
// refused sender would then stay silent until restarted even after its key is added to the
// server's allowlist, so the watch reconnects it itself, with a backoff.

import type { Socket } from 'zeromq';
import { LogLimiter } from './log-limiter.js';
import { createLogger, type Logger } from './logger.js';
import { METRIC } from './metric-names.js';
import type { GaugeHandle, Metrics } from './metrics.js';

/** Where a watch without a logger logs: nowhere. */
const SILENT = createLogger({ name: 'peer-watch', level: 'silent' });

/** Options of {@link PeerWatch.watch}. */
export interface PeerWatchOptions {
  /** 'bind': peers are clients; 'connect': the one peer is the server at `endpoint`. */
  role: 'bind' | 'connect';
  /** The endpoint the log lines name (for 'connect', the one that is reconnected). */
  endpoint: string;
  /** Handshakes, refusals, reconnects; undefined = not logged. */
  logger?: Logger | undefined;
  /**
   * With Prometheus export on, `peers` is kept in nflog_pipe_connected_peers{socket=gaugeSocket}
   * (the gauge is shared by every watch of that name in the process: each adds its own peers).
   */
  metrics?: Metrics;
  /** The `socket` label of that gauge: pull, push or query. */
  gaugeSocket?: string;
  /** Whether the socket uses CURVE (only for the wording of the log lines). */
  curve: boolean;
  /**
   * Bind side: called once per failed handshake other than a ZAP refusal (the ZAP handler
   * counts those), for `auth.rejected`. Without it failures are logged at debug only: on a
   * plain socket a port scan is not news.
   */
  onRefused?: () => void;
  /**
   * Called each time a peer whose handshake had succeeded disconnects: it went away, or (bind
   * side) libzmq dropped it for a message over ZMQ_MAXMSGSIZE. The receiver counts these.
   */
  onDisconnect?: () => void;
  /**
   * Connect side: called on each failed handshake. For one libzmq does not retry by itself
   * (`final`: refused by the server, mechanism mismatch), return false to keep the watch from
   * reconnecting.
   */
  onFailure?: (failure: HandshakeFailure) => boolean;
  /** Connect side: first reconnect delay after such a failure, ms (doubling up to 10 s). Default 1000. */
  reconnectMs?: number;
  /** A repeated failure is logged again no sooner than this, ms. Default 60000. */
  logIntervalMs?: number;
  /**
   * Every event the watch reads, after it is counted (the monitor serves one reader): its type,
   * the event (`connect:retry` has `interval`), the handshaken peers now. For a ConnectionLog.
   */
  onEvent?: (type: string, event: { interval?: number }, peers: number) => void;
}

/** One failed handshake, as the log line and `onFailure` see it. */
export interface HandshakeFailure {
  /** The zeromq.js event: `handshake:error:auth`, `...:protocol`, `...:other`. */
  event: string;
  /** The error's code (`ERR_ZMTP_MECHANISM_MISMATCH`, `EPIPE`, ...) or the ZAP status (`400`). */
  code: string;
  /** What it means, in a few words. */
  reason: string;
  /** libzmq gave the connection up (it retries only a connection that broke, `...:other`). */
  final: boolean;
}

/** Longest reconnect delay after a refusal, ms. */
const RECONNECT_MAX_MS = 10_000;

function failureOf(
  type: string,
  error: (Error & { code?: string; status?: number }) | undefined,
  role: 'bind' | 'connect',
  curve: boolean,
): HandshakeFailure {
  const code = error?.status !== undefined ? String(error.status) : (error?.code ?? 'unknown');
  let reason: string;
  if (type === 'handshake:error:auth')
    reason = role === 'connect' ? 'the server refused our key' : 'refused by the ZAP handler';
  else if (code === 'ERR_ZMTP_MECHANISM_MISMATCH')
    reason = curve
      ? 'the peer does not use CURVE'
      : 'the peer uses CURVE and this side does not (see --curve-client / --curve-server)';
  else if (code === 'ERR_ZMTP_CRYPTOGRAPHIC' || code === 'ERR_ZMTP_KEY_EXCHANGE')
    reason =
      role === 'bind'
        ? "the client's CURVE handshake does not decrypt (it has the wrong server key)"
        : 'the CURVE handshake does not decrypt';
  else if (type === 'handshake:error:protocol') reason = 'ZMTP protocol error';
  else if (role === 'connect')
    reason = curve
      ? 'the handshake did not complete (a wrong --curve-server-key looks like this)'
      : 'the handshake did not complete (a server that requires CURVE looks like this)';
  else reason = 'the handshake did not complete';
  return { event: type, code, reason, final: type !== 'handshake:error:other' };
}

/** Follows one socket's monitor events: counts handshaken peers, logs failed handshakes. */
export class PeerWatch {
  readonly #socket: Socket;
  readonly #o: PeerWatchOptions;
  readonly #limiter: LogLimiter;
  readonly #logger: Logger;
  readonly #gauge: GaugeHandle | undefined;
  #peers = 0;
  #handshakes = 0;
  #failures = 0;
  /** Failures whose `disconnect` has not arrived yet. */
  #failedOpen = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectMs: number;

  private constructor(socket: Socket, options: PeerWatchOptions) {
    this.#socket = socket;
    this.#o = options;
    this.#limiter = new LogLimiter(
      options.logIntervalMs !== undefined ? { intervalMs: options.logIntervalMs } : {},
    );
    this.#reconnectMs = options.reconnectMs ?? 1000;
    this.#logger = options.logger ?? SILENT;
    const { metrics, gaugeSocket } = options;
    this.#gauge =
      metrics !== undefined && metrics.prometheus !== null && gaugeSocket !== undefined
        ? metrics.gauge(METRIC.CONNECTED_PEERS, { socket: gaugeSocket })
        : undefined;
  }

  /**
   * Starts following `socket`'s events (its monitor is created on first use). Call before
   * bind/connect so the first events are seen.
   */
  static watch(socket: Socket, options: PeerWatchOptions): PeerWatch {
    const w = new PeerWatch(socket, options);
    w.#loop = w.#follow();
    return w;
  }

  /** Connections whose handshake succeeded and that have not disconnected since. */
  get peers(): number {
    return this.#peers;
  }

  /** Handshakes that succeeded, in total. */
  get handshakes(): number {
    return this.#handshakes;
  }

  /** Handshakes that failed, in total. */
  get failures(): number {
    return this.#failures;
  }

  async #follow(): Promise<void> {
    // Our own loop over receive() rather than events.on(): zeromq.js's emitter mode runs a loop
    // whose rejection nobody catches.
    const events = this.#socket.events;
    for (;;) {
      let ev: Awaited<ReturnType<typeof events.receive>>;
      try {
        ev = await events.receive();
      } catch {
        return; // the socket (and with it its monitor) was closed
      }
      if (ev.type === 'end' || this.#closed) return;
      this.#on(ev.type, (ev as { error?: Error & { code?: string; status?: number } }).error);
      this.#o.onEvent?.(ev.type, ev as { interval?: number }, this.#peers);
    }
  }

  #on(type: string, error: (Error & { code?: string; status?: number }) | undefined): void {
    const { role, endpoint } = this.#o;
    const logger = this.#logger;
    if (type === 'handshake') {
      this.#handshakes++;
      this.#peers++;
      this.#gauge?.add(1);
      if (role === 'connect') {
        this.#reconnectMs = this.#o.reconnectMs ?? 1000;
        // Every (re)connection of a sender is worth a line; a flapping link is rate-limited.
        const repeats = this.#limiter.hit('connected');
        if (repeats !== undefined)
          logger.info('connected (handshake done)', {
            endpoint,
            curve: this.#o.curve,
            ...(repeats > 0 ? { reconnects: repeats } : {}),
          });
      } else {
        logger.debug('peer connected (handshake done)', { endpoint, peers: this.#peers });
      }
      return;
    }
    if (type === 'disconnect') {
      if (this.#failedOpen > 0) this.#failedOpen--;
      else if (this.#peers > 0) {
        this.#peers--;
        this.#gauge?.add(-1);
        if (role === 'connect') logger.info('disconnected', { endpoint });
        else logger.debug('peer disconnected', { endpoint, peers: this.#peers });
        this.#o.onDisconnect?.();
      }
      return;
    }
    if (!type.startsWith('handshake:error:')) return;
    this.#failures++;
    this.#failedOpen++;
    const failure = failureOf(type, error, role, this.#o.curve);
    if (role === 'bind') {
      // A ZAP refusal was logged and counted by the handler, with the key and address.
      if (type === 'handshake:error:auth') return;
      this.#o.onRefused?.();
      const repeats = this.#limiter.hit(failure.code);
      if (repeats === undefined) return;
      const fields = {
        endpoint,
        why: failure.reason,
        code: failure.code,
        ...(repeats > 0 ? { repeats } : {}),
      };
      if (this.#o.onRefused !== undefined)
        logger.warn(
          'refused a client: handshake failed (counted in auth.rejected; logged once a minute per reason)',
          fields,
        );
      else logger.debug('a client handshake failed', fields);
      return;
    }
    // libzmq reconnects after a broken connection itself; after a protocol failure it does not.
    const wanted = this.#o.onFailure?.(failure) ?? true;
    const again = failure.final && wanted;
    const repeats = this.#limiter.hit(failure.code);
    if (repeats !== undefined) {
      logger.warn('handshake with the server failed (nothing is delivered until it succeeds)', {
        endpoint,
        why: failure.reason,
        code: failure.code,
        ...(repeats > 0 ? { repeats } : {}),
        ...(again ? { retry_s: this.#reconnectMs / 1000 } : {}),
      });
    }
    if (again) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    const delayMs = this.#reconnectMs;
    this.#reconnectMs = Math.min(this.#reconnectMs * 2, RECONNECT_MAX_MS);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed || this.#socket.closed) return;
      const { endpoint } = this.#o;
      try {
        this.#socket.disconnect(endpoint);
      } catch {
        // libzmq may have forgotten the endpoint already; connecting again is what counts
      }
      try {
        this.#socket.connect(endpoint);
      } catch (err) {
        this.#logger.error('cannot reconnect', { endpoint, err });
      }
    }, delayMs);
    // The socket keeps the process alive while it matters; a pending retry must not.
    this.#reconnectTimer.unref();
  }

  /**
   * Stops reconnecting and following events (the socket stays open, or is about to close); its
   * peers leave the connected_peers gauge. Safe to call twice.
   */
  close(): void {
    if (!this.#closed) this.#gauge?.add(-this.#peers);
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
  }

  /** Resolves once the event loop has ended (after the socket closed). */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }
}
