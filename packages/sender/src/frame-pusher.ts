// The non-blocking ZeroMQ PUSH end. With ZMQ_SNDTIMEO = 0, zeromq.js takes its synchronous
// path on every send() (src/socket.cc, Socket::Send: `send_timeout == 0` → Send() at once, the
// returned promise already settled): it never polls for writability, so no send is ever left in
// flight, the netlink reader is never blocked and EBUSY ("only one send in progress") cannot
// arise. A full queue (SNDHWM reached) rejects with EAGAIN: that frame is dropped and its
// packets counted. EBUSY or any other error is treated the same way (counted, never thrown),
// so a surprise in the library degrades into counted loss, not a stalled pipe.
//
// Frame buffers are handed to send() and never touched again: libzmq's I/O thread may read
// them after the promise resolves (zero-copy above ~128 bytes, src/outgoing_msg.cc).

import { Push } from 'zeromq';

/** The part of a zeromq.js socket the pusher uses (a real Push, or a fake in tests). */
export interface PushSocketLike {
  send(message: Buffer): Promise<void>;
  close(): void;
  linger: number;
}

/** Counters of a {@link FramePusher}; packets are the pcap records the frames carry. */
export interface PusherStats {
  /** Frames (ZeroMQ messages) accepted into the ZeroMQ queue. */
  sentFrames: number;
  /** Packets in accepted frames. */
  sentPackets: number;
  /** Bytes of accepted messages (as put on the wire, header included). */
  sentBytes: number;
  /** Frames dropped because the queue was full (or the send failed otherwise). */
  droppedFrames: number;
  /** Packets in dropped frames. */
  droppedPackets: number;
  /** Sends whose outcome is not known yet (settles within a microtask with SNDTIMEO 0). */
  unsettled: number;
}

/** Options of {@link FramePusher.connect}. */
export interface PusherConnectOptions {
  /** ZMQ_SNDHWM: frames ZeroMQ may queue before sends fail; must be >= 1 (0 would mean unbounded). */
  sendHighWaterMark: number;
  /** ZMQ_LINGER applied at close(), ms: how long queued frames may still be delivered. */
  lingerMs: number;
}

/** Outcome callbacks, for metrics. */
export interface PusherCallbacks {
  /** A frame entered the ZeroMQ queue. */
  onSent?: (packets: number, bytes: number) => void;
  /** A frame was dropped (full queue or error). */
  onDropped?: (packets: number) => void;
  /** Called once per distinct unexpected error code (not EAGAIN), for a warn-once log line. */
  onError?: (err: Error & { code?: string }) => void;
}

/**
 * Pushes frames without ever waiting: each one is either queued by ZeroMQ or dropped and
 * counted. `push()` returns at once; the counters are exact once {@link settled} resolves.
 */
export class FramePusher {
  #socket: PushSocketLike;
  #lingerMs: number;
  #callbacks: PusherCallbacks;
  #stats: PusherStats = { sentFrames: 0, sentPackets: 0, sentBytes: 0, droppedFrames: 0, droppedPackets: 0, unsettled: 0 };
  #idle: Array<() => void> = [];
  #seenErrors = new Set<string>();
  #closed = false;

  /**
   * Wraps an open socket; it must have `sendTimeout = 0` (see the file comment).
   * @param lingerMs ZMQ_LINGER set just before close(), ms
   */
  constructor(socket: PushSocketLike, lingerMs: number, callbacks: PusherCallbacks = {}) {
    this.#socket = socket;
    this.#lingerMs = lingerMs;
    this.#callbacks = callbacks;
  }

  /**
   * Creates a ZeroMQ PUSH socket (ZMQ_SNDHWM = `sendHighWaterMark` frames, ZMQ_SNDTIMEO = 0,
   * ZMQ_LINGER = 0 until close) and connects it to `endpoint`. Connecting is asynchronous in
   * ZeroMQ: with no peer yet, up to SNDHWM frames are queued and the rest dropped.
   * @throws the zeromq.js error (code EINVAL, EPROTONOSUPPORT, ...) for an endpoint it rejects.
   */
  static connect(endpoint: string, options: PusherConnectOptions, callbacks: PusherCallbacks = {}): FramePusher {
    if (!Number.isInteger(options.sendHighWaterMark) || options.sendHighWaterMark < 1) {
      throw new RangeError(`sendHighWaterMark must be an integer >= 1, got ${options.sendHighWaterMark}`);
    }
    const socket = new Push({ sendHighWaterMark: options.sendHighWaterMark, sendTimeout: 0, linger: 0 });
    try {
      socket.connect(endpoint);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new FramePusher(socket, options.lingerMs, callbacks);
  }

  /** A copy of the counters. */
  stats(): PusherStats {
    return { ...this.#stats };
  }

  /**
   * Offers one frame carrying `packets` packets. Never blocks and never throws: the frame is
   * queued by ZeroMQ or dropped and counted. `frame` must not be modified afterwards.
   */
  push(frame: Buffer, packets: number): void {
    if (this.#closed) {
      this.#drop(packets);
      return;
    }
    let sending: Promise<void>;
    try {
      sending = this.#socket.send(frame);
    } catch (err) {
      // zeromq.js throws synchronously for EBUSY and a closed socket.
      this.#fail(err, packets);
      return;
    }
    this.#stats.unsettled++;
    sending.then(
      () => {
        this.#stats.sentFrames++;
        this.#stats.sentPackets += packets;
        this.#stats.sentBytes += frame.length;
        this.#callbacks.onSent?.(packets, frame.length);
        this.#settle();
      },
      (err: unknown) => {
        this.#fail(err, packets);
        this.#settle();
      },
    );
  }

  /** Resolves once every push so far has a known outcome (immediately when none is pending). */
  settled(): Promise<void> {
    if (this.#stats.unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Waits for the outcomes of pushes made so far, then closes the socket with ZMQ_LINGER =
   * lingerMs, so frames still queued get that long to reach a peer and no longer. Later pushes
   * are counted as dropped. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.settled();
    this.#socket.linger = this.#lingerMs;
    this.#socket.close();
  }

  #drop(packets: number): void {
    this.#stats.droppedFrames++;
    this.#stats.droppedPackets += packets;
    this.#callbacks.onDropped?.(packets);
  }

  #fail(err: unknown, packets: number): void {
    this.#drop(packets);
    const e = err as Error & { code?: string };
    const code = e.code ?? 'unknown';
    if (code !== 'EAGAIN' && !this.#seenErrors.has(code)) {
      this.#seenErrors.add(code);
      this.#callbacks.onError?.(e);
    }
  }

  #settle(): void {
    this.#stats.unsettled--;
    if (this.#stats.unsettled === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }
}
