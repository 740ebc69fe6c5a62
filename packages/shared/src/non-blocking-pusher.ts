// The never-blocking ZeroMQ PUSH end of the sender and of both relays. With ZMQ_SNDTIMEO = 0,
// zeromq.js takes its synchronous path on every send() (src/socket.cc, Socket::Send:
// `send_timeout == 0` → Send() at once, the returned promise already settled): it never polls
// for writability, so no send is ever left in progress, the caller is never blocked and EBUSY
// ("only one send operation may be in progress") cannot arise. That is why no JS queue sits in
// front of the socket. A full queue (SNDHWM reached) rejects with EAGAIN: that message is
// dropped and its packets counted. EBUSY or any other error is treated the same way (counted,
// never thrown), so a surprise in the library degrades into counted loss, not a stalled pipe.
//
// Buffers handed to send() are never touched again: libzmq's I/O thread may read them after
// the promise resolves (zero-copy above ~128 bytes, zeromq.js src/outgoing_msg.cc).

import type { Push } from 'zeromq';
import { lazyRequire } from './lazy-require.js';
import type { Metrics } from './metrics.js';
import { curveClientSocketOptions, type CurveClientKeys } from './curve-client.js';
import { ConnectionLog } from './connection-log.js';
import type { Logger } from './logger.js';
import { PeerWatch } from './peer-watch.js';

// Loaded at the first connect, not at import (see lazy-require.ts).
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** The part of a zeromq.js socket the pusher uses (a real Push, or a fake in tests). */
export interface PushSocketLike {
  send(message: Buffer): Promise<void>;
  close(): void;
  linger: number;
}

/** An error from zeromq.js: `code` is the errno name (EAGAIN, EBUSY, EFSM, ...). */
export type PushError = Error & { code?: string };

/** Counters of a {@link NonBlockingPusher}; packets are what the caller said each message carries. */
export interface PusherStats {
  /** Messages accepted into the ZeroMQ queue. */
  sentMessages: number;
  /** Packets in accepted messages. */
  sentPackets: number;
  /** Bytes of accepted messages (as put on the wire, headers included). */
  sentBytes: number;
  /** Messages dropped: queue full (EAGAIN), another send error, or pushed after close(). */
  droppedMessages: number;
  /** Packets in dropped messages. */
  droppedPackets: number;
  /** Sends whose outcome is not known yet (settles within a microtask with SNDTIMEO 0). */
  unsettled: number;
}

/** Options of {@link NonBlockingPusher.connect}. */
export interface PusherConnectOptions {
  /** ZMQ_SNDHWM: messages ZeroMQ may queue before sends fail; an integer >= 1 (0 would mean unbounded). */
  sendHighWaterMark: number;
  /** ZMQ_LINGER applied at close(), ms: how long queued messages may still be delivered. */
  lingerMs: number;
  /**
   * With Prometheus export on, its peer (by completed handshake) is counted as
   * connected_peers{socket="push"}.
   */
  metrics?: Metrics | undefined;
  /** CURVE client keys (ZMQ_CURVE_*); undefined = plain (NULL mechanism). */
  curve?: CurveClientKeys | undefined;
  /**
   * Where the connection's handshakes are logged (a {@link PeerWatch}: connected, disconnected,
   * refused or failing, with the endpoint) and the rest of its story (a {@link ConnectionLog}:
   * retrying, no receiver for a while, an unresolvable host, nobody connected at close);
   * undefined = not logged.
   */
  logger?: Logger | undefined;
  /**
   * ZMQ_SNDBUF, bytes: the kernel send buffer of each connection (0 or undefined: the OS
   * default, which TCP autotunes up to net.ipv4.tcp_wmem's maximum). What sits there when the
   * peer dies is lost with the connection, unlike the ZeroMQ queue, which is kept for the next.
   */
  sendBufferBytes?: number | undefined;
  /** With `logger`: warn when no receiver has been connected for this long, ms (0: never). */
  noPeerWarnMs?: number | undefined;
}

/** Outcome callbacks, for metrics and warn-once log lines. All optional. */
export interface PusherCallbacks {
  /** A message carrying `packets` packets and `bytes` bytes entered the ZeroMQ queue. */
  onSent?: (packets: number, bytes: number) => void;
  /**
   * A message carrying `packets` packets was dropped; `err` is the send error (`code` EAGAIN
   * when the queue was full), undefined when it was pushed after close().
   */
  onDropped?: (packets: number, err: PushError | undefined) => void;
  /** Called once per distinct unexpected error code (not EAGAIN), for a warn-once log line. */
  onError?: (err: PushError) => void;
}

/** Options of {@link connectPush}. */
export interface PushSocketOptions {
  /** ZMQ_SNDHWM, messages: an integer >= 1 (0 would mean unbounded). */
  sendHighWaterMark: number;
  /** ZMQ_SNDTIMEO, ms: 0 never waits (NonBlockingPusher), -1 waits for room (a queued pusher). */
  sendTimeout: number;
  /** ZMQ_SNDBUF, bytes; 0 or undefined: the OS default. */
  sendBufferBytes?: number | undefined;
  /** CURVE client keys (ZMQ_CURVE_*); undefined = plain (NULL mechanism). */
  curve?: CurveClientKeys | undefined;
  /** With Prometheus export on, its peer (by handshake) is counted as connected_peers{socket="push"}. */
  metrics?: Metrics | undefined;
  /** Where the connection's handshakes are logged ({@link PeerWatch}); undefined = not logged. */
  logger?: Logger | undefined;
  /** With `logger`: each socket event and the peers after it (PeerWatchOptions.onEvent). */
  onEvent?: ((type: string, event: { interval?: number }, peers: number) => void) | undefined;
}

/** What {@link connectPush} opens: the socket, and its watch when it has one (close both). */
export interface ConnectedPush {
  socket: Push;
  /** Watches the handshakes when `logger` or `metrics` was given; close it before the socket. */
  watch: PeerWatch | undefined;
}

/**
 * The PUSH socket of every pusher: ZMQ_SNDHWM, ZMQ_SNDTIMEO, ZMQ_SNDBUF when set, ZMQ_LINGER 0
 * until its owner closes it, a CURVE client with `curve`, its handshakes watched with `logger`
 * or `metrics` (a {@link PeerWatch}: peers counted, a refused one logged and retried),
 * connected to `endpoint` (and closed again when ZeroMQ refuses it).
 * @throws RangeError when `sendHighWaterMark` is not an integer >= 1
 * @throws CurveError `ERR_CURVE_UNSUPPORTED` for `curve` on a libzmq without CURVE
 * @throws the zeromq.js error (code EINVAL, EPROTONOSUPPORT, ...) for an endpoint it rejects
 */
export function connectPush(endpoint: string, options: PushSocketOptions): ConnectedPush {
  if (!Number.isInteger(options.sendHighWaterMark) || options.sendHighWaterMark < 1) {
    throw new RangeError(
      `sendHighWaterMark must be an integer >= 1, got ${options.sendHighWaterMark}`,
    );
  }
  const socket: Push = new (zmq().Push)({
    sendHighWaterMark: options.sendHighWaterMark,
    sendTimeout: options.sendTimeout,
    linger: 0,
    ...(options.curve !== undefined ? curveClientSocketOptions(options.curve) : {}),
    ...(options.sendBufferBytes ? { sendBufferSize: options.sendBufferBytes } : {}),
  });
  const watch =
    options.logger === undefined && options.metrics === undefined
      ? undefined
      : PeerWatch.watch(socket, {
          role: 'connect',
          endpoint,
          logger: options.logger,
          curve: options.curve !== undefined,
          ...(options.metrics !== undefined
            ? { metrics: options.metrics, gaugeSocket: 'push' }
            : {}),
          ...(options.onEvent !== undefined ? { onEvent: options.onEvent } : {}),
        });
  try {
    socket.connect(endpoint);
  } catch (err) {
    watch?.close();
    socket.close();
    throw err;
  }
  return { socket, watch };
}

/**
 * The outcome counters of a pusher and their callbacks: what was sent, what was dropped (and
 * why), each unexpected error code reported once. `unsettled` is the pusher's own business.
 */
export class PushAccounting {
  readonly #callbacks: PusherCallbacks;
  readonly #seenErrors = new Set<string>();
  readonly #stats: Omit<PusherStats, 'unsettled'> = {
    sentMessages: 0,
    sentPackets: 0,
    sentBytes: 0,
    droppedMessages: 0,
    droppedPackets: 0,
  };

  #queueFull = false;

  constructor(callbacks: PusherCallbacks) {
    this.#callbacks = callbacks;
  }

  /** A copy of the counters. */
  stats(): Omit<PusherStats, 'unsettled'> {
    return { ...this.#stats };
  }

  /** Whether the last outcome was a refusal for a full queue (EAGAIN); false until one. */
  get queueFull(): boolean {
    return this.#queueFull;
  }

  /** A message carrying `packets` packets and `bytes` bytes entered the ZeroMQ queue. */
  sent(packets: number, bytes: number): void {
    this.#queueFull = false;
    this.#stats.sentMessages++;
    this.#stats.sentPackets += packets;
    this.#stats.sentBytes += bytes;
    this.#callbacks.onSent?.(packets, bytes);
  }

  /** A message was dropped: `err` the send error, undefined when the pusher refused it itself. */
  dropped(packets: number, err: PushError | undefined): void {
    this.#stats.droppedMessages++;
    this.#stats.droppedPackets += packets;
    this.#callbacks.onDropped?.(packets, err);
  }

  /** A send failed with `err`: dropped, and reported once per code unless it is EAGAIN (full). */
  failed(err: unknown, packets: number): void {
    const e = err as PushError;
    this.dropped(packets, e);
    const code = e.code ?? 'unknown';
    if (code === 'EAGAIN') this.#queueFull = true;
    if (code !== 'EAGAIN' && !this.#seenErrors.has(code)) {
      this.#seenErrors.add(code);
      this.#callbacks.onError?.(e);
    }
  }
}

/**
 * Pushes messages without ever waiting: each one is either queued by ZeroMQ or dropped and
 * counted. `push()` returns at once; the counters are exact once {@link settled} resolves.
 */
export class NonBlockingPusher {
  #socket: PushSocketLike;
  #lingerMs: number;
  #acct: PushAccounting;
  #unsettled = 0;
  #idle: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  #watch: PeerWatch | undefined;
  #connection: ConnectionLog | undefined;

  /**
   * Wraps an open socket; it must have `sendTimeout = 0` (see the file comment).
   * @param lingerMs ZMQ_LINGER set just before close(), ms
   */
  constructor(
    socket: PushSocketLike,
    lingerMs: number,
    callbacks: PusherCallbacks = {},
    watch?: PeerWatch,
    connection?: ConnectionLog,
  ) {
    this.#socket = socket;
    this.#lingerMs = lingerMs;
    this.#acct = new PushAccounting(callbacks);
    this.#watch = watch;
    this.#connection = connection;
  }

  /**
   * Creates a ZeroMQ PUSH socket (ZMQ_SNDHWM = `sendHighWaterMark` messages, ZMQ_SNDTIMEO = 0,
   * ZMQ_LINGER = 0 until close, ZMQ_SNDBUF = `sendBufferBytes` when set; a CURVE client with
   * `curve`) and connects it to `endpoint`. Connecting is asynchronous in ZeroMQ: with no peer
   * yet (or while the handshake fails), up to SNDHWM messages are queued and the rest dropped.
   * With `logger`, handshakes are watched (see {@link PeerWatch}: a refused one is logged and
   * retried).
   * @throws RangeError when `sendHighWaterMark` is not an integer >= 1
   * @throws the zeromq.js error (code EINVAL, EPROTONOSUPPORT, ...) for an endpoint it rejects
   */
  static connect(
    endpoint: string,
    options: PusherConnectOptions,
    callbacks: PusherCallbacks = {},
  ): NonBlockingPusher {
    // Every socket of ours sets ZMQ_LINGER itself, so ZMQ_BLOCKY only decides one thing: whether
    // zeromq.js, when the process exits while messages are still queued, adds its API hint
    // ("Set 'context.blocky = false' ...") to its wait warning. Operators cannot act on it.
    zmq().context.blocky = false;
    const connection =
      options.logger === undefined
        ? undefined
        : new ConnectionLog(endpoint, options.logger, {
            ...(options.noPeerWarnMs !== undefined ? { noPeerWarnMs: options.noPeerWarnMs } : {}),
          });
    let opened: ConnectedPush;
    try {
      opened = connectPush(endpoint, {
        ...options,
        sendTimeout: 0,
        ...(connection !== undefined
          ? {
              onEvent: (type: string, event: { interval?: number }, peers: number) =>
                connection.onEvent(type, event, peers),
            }
          : {}),
      });
    } catch (err) {
      connection?.close();
      throw err;
    }
    return new NonBlockingPusher(
      opened.socket,
      options.lingerMs,
      callbacks,
      opened.watch,
      connection,
    );
  }

  /**
   * Whether the peer is connected now, by its handshake (not by TCP); undefined when the
   * connection is not watched (neither `logger` nor `metrics` given to connect()).
   */
  get connected(): boolean | undefined {
    return this.#watch === undefined ? undefined : this.#watch.peers > 0;
  }

  /** A copy of the counters. */
  stats(): PusherStats {
    return { ...this.#acct.stats(), unsettled: this.#unsettled };
  }

  /**
   * Whether the last message whose outcome is known was refused because ZeroMQ's queue was full
   * (SNDHWM reached: the peer is gone or too slow); false once one is accepted again, and
   * before any was refused.
   */
  get queueFull(): boolean {
    return this.#acct.queueFull;
  }

  /**
   * Offers one message carrying `packets` packets. Never blocks and never throws: the message
   * is queued by ZeroMQ or dropped and counted. `msg` must not be modified afterwards.
   */
  push(msg: Buffer, packets: number): void {
    if (this.#closing !== undefined) {
      this.#acct.dropped(packets, undefined);
      return;
    }
    let sending: Promise<void>;
    try {
      sending = this.#socket.send(msg);
    } catch (err) {
      // zeromq.js throws synchronously for EBUSY and a closed socket.
      this.#acct.failed(err, packets);
      return;
    }
    this.#unsettled++;
    sending.then(
      () => {
        this.#acct.sent(packets, msg.length);
        this.#settle();
      },
      (err: unknown) => {
        this.#acct.failed(err, packets);
        this.#settle();
      },
    );
  }

  /** Resolves once every push so far has a known outcome (immediately when none is pending). */
  settled(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Waits for the outcomes of pushes made so far, then closes the socket with ZMQ_LINGER =
   * lingerMs, so messages still queued get that long to reach a peer and no longer. Later
   * pushes are counted as dropped. Safe to call twice (same promise).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.settled();
      this.#watch?.close();
      // Nobody takes them: what ZeroMQ still queues waits at most the linger, then is lost.
      this.#connection?.close(this.#acct.stats().sentMessages > 0 ? this.#lingerMs : 0);
      this.#socket.linger = this.#lingerMs;
      this.#socket.close();
    })();
    return this.#closing;
  }

  #settle(): void {
    this.#unsettled--;
    if (this.#unsettled === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }
}
