// The relays' non-blocking PUSH end. ZMQ_SNDTIMEO = 0 makes zeromq.js send() settle at once:
// queued, or rejected with EAGAIN when SNDHWM messages are already queued (src/socket.cc,
// Socket::Send). zeromq.js also allows only one send() in progress per socket (EBUSY
// otherwise); with SNDTIMEO 0 none stays in progress, but this class does not rely on that: it
// starts the next send only after the previous one settled, holding the rest in a bounded JS
// queue. Nothing ever waits for a peer: a full queue is a counted drop.
//
// Buffers handed to send() are never touched again: libzmq may read them after the promise
// resolves (zero-copy above ~128 bytes, zeromq.js src/outgoing_msg.cc).

import { Push } from 'zeromq';

/** The part of a zeromq.js socket the pusher uses (a real Push, or a fake in tests). */
export interface PushLike {
  send(message: Buffer): Promise<void>;
  close(): void;
  linger: number;
}

/** Outcome callbacks, for metrics and a warn-once log line. */
export interface RelayPusherCallbacks {
  /** ZeroMQ queued the message (it carries `packets` packets, `bytes` bytes). */
  onSent(packets: number, bytes: number): void;
  /** The message was dropped: queue full (EAGAIN), JS queue full, closed, or another error. */
  onDropped(packets: number, err: (Error & { code?: string }) | undefined): void;
}

/** Most messages held in JS while a send is in progress (beyond: counted drops). */
export const RELAY_PENDING_MAX = 65536;

/** Serialised, never-blocking sends on one PUSH socket; see the file comment. */
export class RelayPusher {
  #socket: PushLike;
  #callbacks: RelayPusherCallbacks;
  #queue: Array<[Buffer, number]> = [];
  #head = 0;
  #busy = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(socket: PushLike, callbacks: RelayPusherCallbacks) {
    this.#socket = socket;
    this.#callbacks = callbacks;
  }

  /**
   * Creates a PUSH socket (ZMQ_SNDHWM = `sendHighWaterMark` messages, ZMQ_SNDTIMEO = 0,
   * ZMQ_LINGER = 0 until close) connected to `endpoint`.
   * @throws the zeromq.js error (EINVAL, EPROTONOSUPPORT, ...) for an endpoint it rejects
   */
  static connect(endpoint: string, sendHighWaterMark: number, callbacks: RelayPusherCallbacks): RelayPusher {
    const socket = new Push({ sendHighWaterMark, sendTimeout: 0, linger: 0 });
    try {
      socket.connect(endpoint);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new RelayPusher(socket, callbacks);
  }

  /** Offers one message carrying `packets` packets; never blocks, never throws. */
  send(msg: Buffer, packets: number): void {
    if (this.#closed) {
      this.#callbacks.onDropped(packets, undefined);
      return;
    }
    if (this.#busy) {
      if (this.#queue.length - this.#head >= RELAY_PENDING_MAX) this.#callbacks.onDropped(packets, undefined);
      else this.#queue.push([msg, packets]);
      return;
    }
    this.#start(msg, packets);
  }

  /** Resolves once every message offered so far has been queued by ZeroMQ or dropped. */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Waits for pending sends, then closes with ZMQ_LINGER = `lingerMs`: queued messages get that
   * long to reach a peer, no longer. Later send() calls are counted drops. Safe to call twice.
   */
  async close(lingerMs: number): Promise<void> {
    if (this.#closed) return;
    await this.idle();
    this.#closed = true;
    this.#socket.linger = lingerMs;
    this.#socket.close();
  }

  #start(msg: Buffer, packets: number): void {
    this.#busy = true;
    let sending: Promise<void>;
    try {
      sending = this.#socket.send(msg);
    } catch (err) {
      // zeromq.js throws synchronously for EBUSY and a closed socket.
      this.#callbacks.onDropped(packets, err as Error);
      this.#next();
      return;
    }
    sending.then(
      () => {
        this.#callbacks.onSent(packets, msg.length);
        this.#next();
      },
      (err: unknown) => {
        this.#callbacks.onDropped(packets, err as Error);
        this.#next();
      },
    );
  }

  #next(): void {
    if (this.#head < this.#queue.length) {
      const [msg, packets] = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as [Buffer, number];
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#start(msg, packets);
      return;
    }
    this.#busy = false;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }
}
