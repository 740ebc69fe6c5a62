// The relays' PUSH end. A relay's output comes in bursts: one decompressed legacy window is
// thousands of messages handed over at once, one compressed window or v1 frame in may be many
// out. ZeroMQ's own queue (ZMQ_SNDHWM, messages) takes what it can; the rest waits here, in a
// queue bounded in bytes, until ZeroMQ has room, so a burst reaches a peer that keeps up whole
// (with only the 50-message ZeroMQ queue, 325–825 of a 2000-message burst did). Beyond the
// bound a message is dropped and counted, as at a sender's full queue: the relay never blocks
// its input and its memory stays bounded when the peer is away.
//
// Exactly one send is in progress at a time, awaited (ZMQ_SNDTIMEO -1: zeromq.js waits for the
// socket to become writable with its poller; a second concurrent send would fail with EBUSY),
// so messages leave in the order they came. Buffers handed over are never touched again
// (zeromq.js may send them zero-copy after the promise resolves).

import { setTimeout as delay } from 'node:timers/promises';
import {
  PeerWatch,
  curveClientSocketOptions,
  lazyRequire,
  type CurveClientKeys,
  type Logger,
  type Metrics,
  type PushError,
  type PusherCallbacks,
  type PusherStats,
  type PushSocketLike,
} from '@nflog-pipe/shared';

// Loaded at the first connect, not at import (shared's lazyRequire): the sender imports this
// package and must not pay for ZeroMQ before it has bound its groups.
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** Options of {@link QueuedPusher.connect}. */
export interface QueuedPusherOptions {
  /** ZMQ_SNDHWM: messages ZeroMQ itself queues, an integer >= 1. */
  sendHighWaterMark: number;
  /**
   * Bytes of messages waiting here for room in ZeroMQ's queue; a message that would go beyond
   * is dropped and counted (one message is always taken into an empty queue). >= 1.
   */
  queueBytes: number;
  /** At close(), how long queued messages may still be delivered, ms (this queue, then ZMQ_LINGER). */
  lingerMs: number;
  /**
   * With Prometheus export on, its peer (by completed handshake) is counted as
   * connected_peers{socket="push"}.
   */
  metrics?: Metrics | undefined;
  /** CURVE client keys (ZMQ_CURVE_*); undefined = plain (NULL mechanism). */
  curve?: CurveClientKeys | undefined;
  /**
   * Where the connection's handshakes are logged (shared's PeerWatch: connected, refused or
   * failing, with the endpoint); undefined = not logged.
   */
  logger?: Logger | undefined;
}

/** Counters of a {@link QueuedPusher}: the pusher's, and what waits in its queue. */
export interface QueuedPusherStats extends PusherStats {
  /** Messages waiting for room in ZeroMQ's queue (the one being sent included). */
  queuedMessages: number;
  /** Packets in them. */
  queuedPackets: number;
  /** Bytes of them. */
  queuedBytes: number;
}

interface Entry {
  msg: Buffer;
  packets: number;
}

/**
 * Pushes messages in order without ever blocking the caller: each is queued by ZeroMQ, waits
 * in a byte-bounded queue for room there, or is dropped and counted. The contract of shared's
 * NonBlockingPusher, plus the queue.
 */
export class QueuedPusher {
  readonly #socket: PushSocketLike;
  readonly #queueBytes: number;
  readonly #lingerMs: number;
  readonly #callbacks: PusherCallbacks;
  readonly #queue: Entry[] = [];
  /** Index of the first live entry of #queue (entries before it are sent or dropped). */
  #head = 0;
  #stats: QueuedPusherStats = {
    sentMessages: 0,
    sentPackets: 0,
    sentBytes: 0,
    droppedMessages: 0,
    droppedPackets: 0,
    unsettled: 0,
    queuedMessages: 0,
    queuedPackets: 0,
    queuedBytes: 0,
  };
  #pumping: Promise<void> | null = null;
  #idle: Array<() => void> = [];
  #seenErrors = new Set<string>();
  #closing: Promise<void> | undefined;
  readonly #watch: PeerWatch | undefined;

  /**
   * Wraps an open socket whose sends wait for room (sendTimeout -1); see the file comment.
   * @param watch closed with the socket
   * @throws RangeError when `queueBytes` is not an integer >= 1
   */
  constructor(
    socket: PushSocketLike,
    options: Pick<QueuedPusherOptions, 'queueBytes' | 'lingerMs'>,
    callbacks: PusherCallbacks = {},
    watch?: PeerWatch,
  ) {
    if (!Number.isInteger(options.queueBytes) || options.queueBytes < 1)
      throw new RangeError(`queueBytes must be an integer >= 1, got ${options.queueBytes}`);
    this.#socket = socket;
    this.#queueBytes = options.queueBytes;
    this.#lingerMs = options.lingerMs;
    this.#callbacks = callbacks;
    this.#watch = watch;
  }

  /**
   * Creates a ZeroMQ PUSH socket (ZMQ_SNDHWM `sendHighWaterMark`, sends that wait for room,
   * ZMQ_LINGER 0 until close; a CURVE client with `curve`) connected to `endpoint`. With
   * `logger` or `metrics`, handshakes are watched (shared's PeerWatch: a refused one is logged
   * and retried).
   * @throws RangeError for a bad `sendHighWaterMark` or `queueBytes`
   * @throws the zeromq.js error (EINVAL, EPROTONOSUPPORT, ...) for an endpoint it rejects
   */
  static connect(
    endpoint: string,
    options: QueuedPusherOptions,
    callbacks: PusherCallbacks = {},
  ): QueuedPusher {
    if (!Number.isInteger(options.sendHighWaterMark) || options.sendHighWaterMark < 1) {
      throw new RangeError(
        `sendHighWaterMark must be an integer >= 1, got ${options.sendHighWaterMark}`,
      );
    }
    const socket = new (zmq().Push)({
      sendHighWaterMark: options.sendHighWaterMark,
      sendTimeout: -1,
      linger: 0,
      ...(options.curve !== undefined ? curveClientSocketOptions(options.curve) : {}),
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
          });
    try {
      socket.connect(endpoint);
      return new QueuedPusher(socket, options, callbacks, watch);
    } catch (err) {
      watch?.close();
      socket.close();
      throw err;
    }
  }

  /** A copy of the counters. */
  stats(): QueuedPusherStats {
    // A queued message's outcome is what is not known yet.
    return { ...this.#stats, unsettled: this.#stats.queuedMessages };
  }

  /**
   * Offers one message carrying `packets` packets. Never blocks and never throws: it joins the
   * queue (and goes to ZeroMQ as soon as ZeroMQ has room), or is dropped and counted when the
   * queue is full or close() was called. `msg` must not be modified afterwards.
   */
  push(msg: Buffer, packets: number): void {
    const s = this.#stats;
    if (
      this.#closing !== undefined ||
      (s.queuedMessages > 0 && s.queuedBytes + msg.length > this.#queueBytes)
    ) {
      this.#drop(packets, undefined);
      return;
    }
    this.#queue.push({ msg, packets });
    s.queuedMessages++;
    s.queuedPackets += packets;
    s.queuedBytes += msg.length;
    this.#pumping ??= this.#pump();
  }

  /** Resolves once the queue is empty: every message so far queued by ZeroMQ or dropped. */
  settled(): Promise<void> {
    if (this.#stats.queuedMessages === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops taking messages (later pushes are counted as dropped), gives the queue up to
   * lingerMs to reach ZeroMQ, drops and counts what is left, then closes the socket with
   * ZMQ_LINGER = the rest of lingerMs. Safe to call twice (same promise).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const deadline = performance.now() + this.#lingerMs;
      const timer = new AbortController();
      await Promise.race([
        this.settled(),
        delay(this.#lingerMs, undefined, { signal: timer.signal }),
      ]).catch(() => {});
      timer.abort();
      // The entry at the head may be in ZeroMQ's hands (its send in progress): closing the
      // socket settles it. Everything behind it is dropped here.
      while (this.#queue.length - this.#head > 1) {
        const e = this.#queue.pop()!;
        this.#dequeue(e);
        this.#drop(e.packets, undefined);
      }
      this.#watch?.close();
      this.#socket.linger = Math.max(0, Math.round(deadline - performance.now()));
      this.#socket.close();
      await this.#pumping;
    })();
    return this.#closing;
  }

  /** Sends the queue's head, one at a time, until the queue is empty. */
  async #pump(): Promise<void> {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head]!;
      try {
        await this.#socket.send(e.msg);
        this.#stats.sentMessages++;
        this.#stats.sentPackets += e.packets;
        this.#stats.sentBytes += e.msg.length;
        this.#callbacks.onSent?.(e.packets, e.msg.length);
      } catch (err) {
        this.#fail(err, e.packets);
      }
      this.#head++;
      this.#dequeue(e);
      // Drop the consumed prefix now and then, so the array does not grow for ever.
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.#pumping = null;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }

  #dequeue(e: Entry): void {
    this.#stats.queuedMessages--;
    this.#stats.queuedPackets -= e.packets;
    this.#stats.queuedBytes -= e.msg.length;
  }

  #drop(packets: number, err: PushError | undefined): void {
    this.#stats.droppedMessages++;
    this.#stats.droppedPackets += packets;
    this.#callbacks.onDropped?.(packets, err);
  }

  #fail(err: unknown, packets: number): void {
    const e = err as PushError;
    this.#drop(packets, e);
    const code = e.code ?? 'unknown';
    // EAGAIN: the socket closed under a waiting send (close() after lingerMs).
    if (code !== 'EAGAIN' && !this.#seenErrors.has(code)) {
      this.#seenErrors.add(code);
      this.#callbacks.onError?.(e);
    }
  }
}
