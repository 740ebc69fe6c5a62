// The rest of a connecting socket's story for its operator, beyond the handshakes PeerWatch logs
// (connected, disconnected, refused): the first retry of a spell without a peer, a warning when
// no peer has been connected for a while (until then messages only queue), a host name that
// does not resolve, and at close a warning when nobody is connected to take what is queued.
// ZeroMQ retries on its own, silently; without these lines a sender pointed at an absent or
// unresolvable receiver looks healthy. Each condition is said once per spell.
//
// It reads no events itself: a socket's monitor serves one reader, PeerWatch, which hands every
// event on (PeerWatchOptions.onEvent).

import type { Logger } from './logger.js';

/** Default {@link ConnectionLogOptions.noPeerWarnMs}: 5 s. */
export const NO_PEER_WARN_MS = 5000;

/** Options of {@link ConnectionLog}. */
export interface ConnectionLogOptions {
  /** Warn when no peer has been connected for this long, ms (once per spell); 0 = never. Default {@link NO_PEER_WARN_MS}. */
  noPeerWarnMs?: number;
  /** What the peer is, in the messages (default `'receiver'`). */
  peer?: string;
}

/**
 * Logs, for a socket connecting to `endpoint` (component and other context come from `log`'s
 * bindings):
 * - info `cannot connect, retrying` at the first retry of a spell without a peer;
 * - warn `no <peer> connected for N s` after `noPeerWarnMs` without a peer, once per spell;
 * - warn `cannot resolve the host of the endpoint` once, when a `tcp://` host does not resolve;
 * - warn `stopping with no <peer> connected` at close() when messages may still be queued.
 */
export class ConnectionLog {
  #log: Logger;
  #endpoint: string;
  #noPeerWarnMs: number;
  #peer: string;
  #connected = false;
  #retryLogged = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(endpoint: string, log: Logger, options: ConnectionLogOptions = {}) {
    this.#log = log;
    this.#endpoint = endpoint;
    this.#noPeerWarnMs = options.noPeerWarnMs ?? NO_PEER_WARN_MS;
    this.#peer = options.peer ?? 'receiver';
    this.#armNoPeer();
    void this.#checkHost();
  }

  /** True while a peer is connected (handshake done, not gone since). */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * One monitor event of the socket (zeromq.js `type`, `connect:retry`'s `interval`), with the
   * number of handshaken peers after it.
   */
  onEvent(type: string, event: { interval?: number }, peers: number): void {
    if (this.#closed) return;
    if (type === 'connect:retry') {
      if (this.#retryLogged) return;
      this.#retryLogged = true;
      this.#log.info('cannot connect, retrying', {
        endpoint: this.#endpoint,
        ...(event.interval !== undefined ? { retry_ms: event.interval } : {}),
      });
    } else if (type === 'handshake') {
      this.#connected = true;
      this.#retryLogged = false;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (type === 'disconnect' && this.#connected && peers === 0) {
      // A peer left (a disconnect after a failed handshake is no peer leaving): a new spell.
      this.#connected = false;
      this.#armNoPeer();
    }
  }

  /**
   * Stops the warning timer; later events are ignored. `lingerMs` > 0: messages may still be
   * queued and wait that long, so with nobody connected that is said. Safe to call twice.
   */
  close(lingerMs = 0): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#connected && lingerMs > 0) {
      this.#log.warn(
        `stopping with no ${this.#peer} connected: messages still queued wait at most the linger for one, then are lost`,
        { endpoint: this.#endpoint, linger_ms: lingerMs },
      );
    }
  }

  #armNoPeer(): void {
    if (this.#noPeerWarnMs <= 0 || this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#connected || this.#closed) return;
      this.#log.warn(
        `no ${this.#peer} connected for ${this.#noPeerWarnMs / 1000} s: messages wait in the ZeroMQ queue up to its high-water mark, then are dropped and counted`,
        { endpoint: this.#endpoint },
      );
    }, this.#noPeerWarnMs);
    // unref: the socket's users keep the process alive; a warning never should.
    this.#timer.unref();
  }

  async #checkHost(): Promise<void> {
    // tcp://[source;]host:port: the host that must resolve is after the source, if any.
    const target = this.#endpoint.replace(/^tcp:\/\/[^;]*;/, 'tcp://');
    const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/;]+)):/.exec(target);
    const host = m?.[1] ?? m?.[2];
    // Addresses need no lookup; `*` and interface names only mean something to bind. node:dns
    // is loaded only for a name, and after the socket is set up (start fast).
    if (host === undefined || host === '*') return;
    const { isIP } = await import('node:net');
    if (isIP(host) !== 0) return;
    try {
      const { lookup } = await import('node:dns/promises');
      await lookup(host);
    } catch (err) {
      if (this.#closed) return;
      this.#log.warn('cannot resolve the host of the endpoint; ZeroMQ keeps retrying', {
        endpoint: this.#endpoint,
        host,
        code: (err as { code?: string }).code ?? 'unknown',
      });
    }
  }
}
