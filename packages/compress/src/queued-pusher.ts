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
  PushAccounting,
  connectPush,
  type PeerWatch,
  type PusherCallbacks,
  type PusherStats,
  type PushSocketLike,
  type PushSocketOptions,
} from '@nflog-pipe/shared';

/**
 * Options of {@link QueuedPusher.connect}: the socket's (shared's PushSocketOptions:
 * `sendHighWaterMark`, `curve`, and `metrics`/`logger` for the handshake watch) and the queue's.
 */
export interface QueuedPusherOptions extends Pick<
  PushSocketOptions,
  'sendHighWaterMark' | 'curve' | 'metrics' | 'logger'
> {
  /**
   * Bytes of messages waiting here for room in ZeroMQ's queue; a message that would go beyond
   * is dropped and counted (one message is always taken into an empty queue). >= 1.
   */
  queueBytes: number;
  /** At close(), how long queued messages may still be delivered, ms (this queue, then ZMQ_LINGER). */
  lingerMs: number;
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
  readonly #acct: PushAccounting;
  readonly #queue: Entry[] = [];
  /** Index of the first live entry of #queue (entries before it are sent or dropped). */
  #head = 0;
  /** What waits in #queue from #head on. */
  #queued = { messages: 0, packets: 0, bytes: 0 };
  #pumping: Promise<void> | null = null;
  #idle: Array<() => void> = [];
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
    this.#acct = new PushAccounting(callbacks);
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
    const { socket, watch } = connectPush(endpoint, { ...options, sendTimeout: -1 });
    try {
      return new QueuedPusher(socket, options, callbacks, watch);
    } catch (err) {
      watch?.close();
      socket.close();
      throw err;
    }
  }

  /** A copy of the counters. */
  stats(): QueuedPusherStats {
    const q = this.#queued;
    // A queued message's outcome is what is not known yet.
    return {
      ...this.#acct.stats(),
      unsettled: q.messages,
      queuedMessages: q.messages,
      queuedPackets: q.packets,
      queuedBytes: q.bytes,
    };
  }

  /**
   * Offers one message carrying `packets` packets. Never blocks and never throws: it joins the
   * queue (and goes to ZeroMQ as soon as ZeroMQ has room), or is dropped and counted when the
   * queue is full or close() was called. `msg` must not be modified afterwards.
   */
  push(msg: Buffer, packets: number): void {
    const q = this.#queued;
    if (
      this.#closing !== undefined ||
      (q.messages > 0 && q.bytes + msg.length > this.#queueBytes)
    ) {
      this.#acct.dropped(packets, undefined);
      return;
    }
    this.#queue.push({ msg, packets });
    q.messages++;
    q.packets += packets;
    q.bytes += msg.length;
    this.#pumping ??= this.#pump();
  }

  /** Resolves once the queue is empty: every message so far queued by ZeroMQ or dropped. */
  settled(): Promise<void> {
    if (this.#queued.messages === 0) return Promise.resolve();
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
        this.#acct.dropped(e.packets, undefined);
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
        this.#acct.sent(e.packets, e.msg.length);
      } catch (err) {
        // EAGAIN here: the socket closed under a waiting send (close() after lingerMs).
        this.#acct.failed(err, e.packets);
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
    this.#queued.messages--;
    this.#queued.packets -= e.packets;
    this.#queued.bytes -= e.msg.length;
  }
}
