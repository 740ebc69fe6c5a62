// The binding side of CURVE for one engine (the receiver's PULL and REP, a relay's PULL): this
// host's key pair, and per kind of socket a ZAP domain with its allowlist, answered by one
// ZapHandler. The sockets live in a ZeroMQ context of their own, because a context has one ZAP
// endpoint: two engines in one process (tests, a future combined daemon) cannot share it.
//
// Sockets with an allowlist set ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN, so libzmq refuses
// their clients when no handler answers, instead of admitting everyone (its default, kept for
// old applications). `any` sets no domain: CURVE without ZAP, encryption without client
// authentication.

import type { Context } from 'zeromq';
import { readSecretCertificate, type CurveKeyPair } from './curve-cert.js';
import { requireCurve } from './curve-client.js';
import { isLocalEndpoint } from './endpoint.js';
import { lazyRequire } from './lazy-require.js';
import type { Logger } from './logger.js';
import { ZapAllowlist, type CurveAllow } from './zap-allowlist.js';
import { ZapHandler } from './zap-handler.js';

// Loaded at first use, not at import (lazy-require.ts).
const zmq = lazyRequire<typeof import('zeromq')>(import.meta.url, 'zeromq');

/** What `--curve-server` and `--curve-allow` (and the receiver's `--buffer-curve-allow`) name. */
export interface CurveServerConfig {
  /** This host's secret certificate file (`NAME.key_secret`). */
  secretCertPath: string;
  /** Who may connect to the main binding socket(s) (`--curve-allow`). */
  allow: CurveAllow;
  /** Receiver only: who may query the ring (`--buffer-curve-allow`); undefined = plain query socket. */
  bufferAllow?: CurveAllow;
}

/** Options of {@link CurveServer.start}. */
export interface CurveServerOptions {
  /** This host's secret certificate file. */
  secretCertPath: string;
  /** ZAP domain name → who sockets of that domain admit (e.g. `{ data: [...], query: 'any' }`). */
  domains: Readonly<Record<string, CurveAllow>>;
  /** Certificate warnings, allowlist loads and reloads, refusals. */
  logger: Logger;
  /** Called once per handshake refused by an allowlist, with its domain (for `auth.rejected`). */
  onRejected?: (domain: string) => void;
}

/** The zeromq.js options that make a socket a CURVE server of one domain. */
export interface CurveServerSocketOptions {
  /** The engine's own context, where its ZAP handler is bound. */
  context: Context;
  /** ZMQ_CURVE_SERVER */
  curveServer: true;
  /** ZMQ_CURVE_SECRETKEY */
  curveSecretKey: string;
  /** ZMQ_ZAP_DOMAIN: set for a domain with an allowlist. */
  zapDomain?: string;
  /** ZMQ_ZAP_ENFORCE_DOMAIN: refuse when no ZAP handler answers. */
  zapEnforceDomain: boolean;
}

/** CURVE on the binding sockets of one engine: keys, context, ZAP handler, allowlists. */
export class CurveServer {
  /** The context the engine's CURVE sockets must be created in. */
  readonly context: Context;
  /** This host's public key (Z85): what clients give as `--curve-server-key`. */
  readonly publicKey: string;
  readonly #secretKey: string;
  readonly #domains: Map<string, CurveAllow>;
  readonly #lists = new Map<string, ZapAllowlist>();
  readonly #zap: ZapHandler | null;
  readonly #logger: Logger;

  private constructor(
    keys: CurveKeyPair,
    context: Context,
    domains: Map<string, CurveAllow>,
    zap: ZapHandler | null,
    logger: Logger,
  ) {
    this.publicKey = keys.publicKey;
    this.#secretKey = keys.secretKey;
    this.context = context;
    this.#domains = domains;
    this.#zap = zap;
    this.#logger = logger;
  }

  /**
   * Reads the secret certificate and every allowlist, and binds the ZAP handler when any
   * domain has one.
   * @throws CurveError (certificate or allowlist unreadable or malformed, no CURVE in libzmq);
   *   nothing is left open then
   */
  static async start(options: CurveServerOptions): Promise<CurveServer> {
    requireCurve();
    const { logger } = options;
    const keys = await readSecretCertificate(options.secretCertPath, logger);
    const domains = new Map(Object.entries(options.domains));
    const lists = new Map<string, ZapAllowlist>();
    for (const [domain, allow] of domains) {
      if (allow === 'any') {
        logger.warn(
          'CURVE without client authentication (--curve-allow any): any client that knows the server key may connect',
          {
            domain,
          },
        );
        continue;
      }
      const list = await ZapAllowlist.load(allow, logger.child({ domain }));
      lists.set(domain, list);
      logger.info('allowlist loaded', { domain, keys: list.size });
    }
    // Not blocky: closing the context never waits for a socket's queued messages.
    const context = new (zmq().Context)({ blocky: false });
    let zap: ZapHandler | null = null;
    if (lists.size > 0) {
      zap = await ZapHandler.start({
        context,
        logger,
        ...(options.onRejected !== undefined ? { onRejected: options.onRejected } : {}),
      });
      for (const [domain, list] of lists) zap.allow(domain, list);
    }
    const server = new CurveServer(keys, context, domains, zap, logger);
    for (const [domain, list] of lists) server.#lists.set(domain, list);
    return server;
  }

  /** Whether sockets of `domain` are CURVE servers (it was given in `domains`). */
  has(domain: string): boolean {
    return this.#domains.has(domain);
  }

  /**
   * The options of a CURVE server socket of `domain`.
   * @throws RangeError for a domain not given to start()
   */
  socketOptions(domain: string): CurveServerSocketOptions {
    const allow = this.#domains.get(domain);
    if (allow === undefined) throw new RangeError(`no CURVE domain ${domain}`);
    return {
      context: this.context,
      curveServer: true,
      curveSecretKey: this.#secretKey,
      ...(allow === 'any' ? {} : { zapDomain: domain }),
      zapEnforceDomain: true,
    };
  }

  /** Handshakes refused by the allowlists so far. */
  get rejected(): number {
    return this.#zap?.stats().rejected ?? 0;
  }

  /**
   * Reads every allowlist again (SIGHUP). One that fails keeps its previous keys and is logged
   * as an error; the others are swapped in. Never throws.
   */
  async reload(): Promise<void> {
    for (const [domain, list] of this.#lists) {
      try {
        const r = await list.reload();
        this.#logger.info('allowlist reloaded', {
          domain,
          keys: r.keys,
          added: r.added.length,
          removed: r.removed.length,
        });
        for (const s of r.skipped)
          this.#logger.warn('allowlist: skipped a file', { domain, file: s });
      } catch (err) {
        this.#logger.error('allowlist reload failed; the previous keys stay admitted', {
          domain,
          err,
        });
      }
    }
    // A key refused before the reload is news again if it is still refused.
    this.#zap?.resetLog();
  }

  /** Stops the ZAP handler (close the engine's sockets first). Safe to call twice. */
  async close(): Promise<void> {
    await this.#zap?.close();
  }
}

/** What an unauthenticated peer could do through a plain binding socket, for its warning. */
export type PlainExposure = 'inject' | 'read';

/**
 * Logs one warning when `endpoint` (as bound, so a `*` port is resolved) is plain ZeroMQ on an
 * address other hosts can reach (see isLocalEndpoint): anyone who reaches it can inject packets
 * into the IDS feed and forge sender ids (`inject`), or read the captured traffic (`read`).
 * @returns whether it warned
 */
export function warnIfPlainExposed(
  endpoint: string,
  exposure: PlainExposure,
  logger: Logger,
): boolean {
  if (isLocalEndpoint(endpoint)) return false;
  logger.warn(
    exposure === 'inject'
      ? 'bound without CURVE on a non-loopback address: anyone who can reach it can inject packets into the IDS feed and forge sender ids (see --curve-server)'
      : 'buffer interface bound without CURVE on a non-loopback address: anyone who can reach it can read the captured traffic (see --buffer-curve-allow)',
    { endpoint },
  );
  return true;
}
