// The ZAP handler (ZeroMQ RFC 27) that checks CURVE clients against allowlists. libzmq asks
// whoever is bound to `inproc://zeromq.zap.01` in the socket's context, once per handshake of a
// CURVE server socket that has a ZAP domain; zeromq.js has no handler built in, so this is a
// Router bound there, answering in the event loop (a few requests per connection attempt, never
// per message). Each domain (the receiver's data socket, its query socket, a relay's SRC) has
// its own allowlist, because who may send is not who may read.
//
// A refusal is logged with the client's key (Z85) and IP address the first time, then at most
// once a minute per key and address (LogLimiter), and each one is counted (`onRejected`,
// `auth.rejected`): a refused client retries, and a hostile one must not flood the log.

import type { Context, Router } from 'zeromq';
import { lazyRequire } from './lazy-require.js';
import { LogLimiter } from './log-limiter.js';
import type { Logger } from './logger.js';
import type { ZapAllowlist } from './zap-allowlist.js';
import { z85Encode } from './z85.js';

// Loaded at first use, not at import (lazy-require.ts).
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** The endpoint libzmq sends ZAP requests to (RFC 27). */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Options of {@link ZapHandler.start}. */
export interface ZapHandlerOptions {
  /** The context of the sockets it authenticates (each context has its own ZAP endpoint). */
  context: Context;
  /** Refusals (warn) and admissions (info the first time per key and address, then debug). */
  logger: Logger;
  /** Called once per refused handshake (for `auth.rejected`). */
  onRejected?: (domain: string) => void;
  /** A refused key and address is logged again no sooner than this, ms. Default 60000. */
  logIntervalMs?: number;
}

/** Counters of a {@link ZapHandler}. */
export interface ZapHandlerStats {
  /** Handshakes admitted. */
  accepted: number;
  /** Handshakes refused (key not on the domain's allowlist, unknown domain, not CURVE). */
  rejected: number;
}

/** The ZAP status codes we answer with (RFC 27). */
const ZAP_OK = '200';
const ZAP_DENIED = '400';
const ZAP_ERROR = '500';

/** Answers ZAP requests for the sockets of one context, one allowlist per ZAP domain. */
export class ZapHandler {
  readonly #router: Router;
  readonly #opts: ZapHandlerOptions;
  readonly #domains = new Map<string, ZapAllowlist>();
  readonly #refusals: LogLimiter;
  readonly #admissions: LogLimiter;
  readonly #stats: ZapHandlerStats = { accepted: 0, rejected: 0 };
  #loop: Promise<void> | undefined;
  #closed = false;

  private constructor(router: Router, options: ZapHandlerOptions) {
    this.#router = router;
    this.#opts = options;
    this.#refusals = new LogLimiter(
      options.logIntervalMs !== undefined ? { intervalMs: options.logIntervalMs } : {},
    );
    // Admissions are news once per key and address; a sender that reconnects is not.
    this.#admissions = new LogLimiter({ intervalMs: Infinity });
  }

  /**
   * Binds the handler in `options.context`. Sockets of that context whose ZAP domain has no
   * allowlist (see {@link allow}) are refused.
   * @throws the zeromq.js bind error (EADDRINUSE: another handler is bound in this context)
   */
  static async start(options: ZapHandlerOptions): Promise<ZapHandler> {
    const router = new (zmq().Router)({ context: options.context, linger: 0 });
    try {
      await router.bind(ZAP_ENDPOINT);
    } catch (err) {
      router.close();
      throw err;
    }
    const h = new ZapHandler(router, options);
    h.#loop = h.#serve().catch((err: unknown) => {
      // Without the handler every CURVE client of this context is refused (the sockets enforce
      // their domain), so this is loud, not silent.
      if (!h.#closed)
        options.logger.error('ZAP handler stopped: CURVE clients are refused', { err });
    });
    return h;
  }

  /** Admits the keys of `list` on sockets whose ZAP domain (ZMQ_ZAP_DOMAIN) is `domain`. */
  allow(domain: string, list: ZapAllowlist): void {
    this.#domains.set(domain, list);
  }

  /** Forgets which keys were logged, so after a reload each refusal is logged afresh. */
  resetLog(): void {
    this.#refusals.clear();
    this.#admissions.clear();
  }

  /** A copy of the counters. */
  stats(): ZapHandlerStats {
    return { ...this.#stats };
  }

  async #serve(): Promise<void> {
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await this.#router.receive();
      } catch (err) {
        if (this.#closed || this.#router.closed) return;
        throw err;
      }
      const reply = this.#answer(parts);
      if (reply === null) continue;
      try {
        await this.#router.send(reply);
      } catch (err) {
        if (this.#closed || this.#router.closed) return;
        throw err;
      }
    }
  }

  /**
   * The reply to one request, `[routing id, '', '1.0', request id, status, text, user id,
   * metadata]`, or null for a message too short to answer (libzmq never sends one).
   */
  #answer(parts: Buffer[]): (Buffer | string)[] | null {
    // [routing id, '', version, request id, domain, address, identity, mechanism, credentials...]
    if (parts.length < 8) return null;
    const [routing, , version, requestId] = parts as [Buffer, Buffer, Buffer, Buffer];
    const reply = (status: string, text: string, userId = ''): (Buffer | string)[] => [
      routing,
      '',
      '1.0',
      requestId,
      status,
      text,
      userId,
      '',
    ];
    if (version.toString('latin1') !== '1.0') return reply(ZAP_ERROR, 'ZAP version 1.0 only');
    const domain = parts[4]!.toString('utf8');
    const address = parts[5]!.toString('utf8');
    const mechanism = parts[7]!.toString('latin1');
    const credential = parts[8];
    const list = this.#domains.get(domain);
    const key =
      mechanism === 'CURVE' && credential !== undefined && credential.length === 32
        ? z85Encode(credential)
        : undefined;
    if (list !== undefined && key !== undefined && list.has(key)) {
      this.#stats.accepted++;
      const seen = this.#admissions.hit(`${key}@${address}`);
      const log = seen === undefined ? this.#opts.logger.debug : this.#opts.logger.info;
      log('client admitted', { domain, key, address, cert: list.sourceOf(key) });
      return reply(ZAP_OK, 'OK', key);
    }
    this.#stats.rejected++;
    this.#opts.onRejected?.(domain);
    const why =
      list === undefined
        ? 'no allowlist for this domain'
        : key === undefined
          ? `mechanism ${mechanism}, not CURVE`
          : 'key not on the allowlist';
    const repeats = this.#refusals.hit(`${key ?? mechanism}@${address}@${domain}`);
    if (repeats !== undefined) {
      this.#opts.logger.warn(
        'refused a client (counted in auth.rejected; logged once a minute per key and address)',
        { domain, key: key ?? '-', address, why, ...(repeats > 0 ? { repeats } : {}) },
      );
    }
    return reply(ZAP_DENIED, why);
  }

  /** Unbinds and stops answering (clients of this context are refused from then on). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#router.close();
    await this.#loop;
  }
}
