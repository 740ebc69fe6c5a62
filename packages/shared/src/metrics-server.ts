// `--metrics-listen [HOST:]PORT` and the HTTP server behind it: GET /metrics answers with the
// Prometheus text format rendered by prom-client (PrometheusExporter). Every daemon gets it
// through withCliRuntime; each CLI only adds the option.

import type * as Http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Option, type OptionValues } from 'commander';
import { NflogPipeError } from './errors.js';
import { lazyRequire } from './lazy-require.js';
import type { Logger } from './logger.js';
import type { PrometheusExporter } from './prometheus-exporter.js';
import { parseListen, type HostPort } from './units.js';

// Loaded when a server starts (--metrics-listen), not at import (lazy-require.ts).
const http = lazyRequire<typeof Http>(import.meta.url, 'node:http');

/** Host of `--metrics-listen PORT` when none is given: loopback only. */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

/** The one path served. */
export const METRICS_PATH = '/metrics';

/** Every `code` a {@link MetricsServerError} can carry. */
export const METRICS_ERROR_CODES = [
  /** The HTTP server could not listen (EADDRINUSE, EADDRNOTAVAIL, EACCES ...; `cause` kept). */
  'ERR_METRICS_LISTEN',
] as const;

/** One of {@link METRICS_ERROR_CODES}. */
export type MetricsErrorCode = (typeof METRICS_ERROR_CODES)[number];

/** The metrics server failed at run time: the CLI prints one line and exits 1. */
export class MetricsServerError extends NflogPipeError<MetricsErrorCode> {}

/**
 * Parses `[HOST:]PORT` (`9100`, `0.0.0.0:9100`, `[::1]:9100`, `localhost:9100`); the host
 * defaults to 127.0.0.1, port 0 picks a free port (the log line says which).
 * @throws InvalidArgumentError (exit 2) on anything else
 */
export function parseMetricsListen(str: string): HostPort {
  return parseListen(str, METRICS_DEFAULT_HOST);
}

/**
 * Adds `--metrics-listen [HOST:]PORT` (off unless given; host 127.0.0.1 by default) to `cmd`.
 * withCliRuntime starts the server when it is set. Returns `cmd`.
 */
export function addMetricsListenOption<C extends { addOption(o: Option): C }>(cmd: C): C {
  return cmd.addOption(
    new Option(
      '--metrics-listen <[host:]port>',
      `serve Prometheus metrics over HTTP at GET ${METRICS_PATH} (host default ${METRICS_DEFAULT_HOST}; port 0 = any free one; default: off)`,
    ).argParser(parseMetricsListen),
  );
}

/** What addMetricsListenOption parsed, or null when `--metrics-listen` is not given. */
export function metricsListenFrom(opts: OptionValues): HostPort | null {
  return (opts['metricsListen'] as HostPort | undefined) ?? null;
}

/**
 * The `/metrics` HTTP server (node:http): GET or HEAD /metrics → 200 with the exporter's text;
 * other paths 404, other methods 405. A scrape renders from counters already in memory, so it
 * never waits on the pipe and the pipe never waits on it.
 */
export class MetricsServer {
  readonly #server: Server;
  readonly #address: HostPort;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, address: HostPort) {
    this.#server = server;
    this.#address = address;
  }

  /** Host and port actually bound (port 0 resolved). */
  get address(): HostPort {
    return this.#address;
  }

  /** `http://HOST:PORT/metrics` (IPv6 hosts bracketed). */
  get url(): string {
    const h = this.#address.host.includes(':') ? `[${this.#address.host}]` : this.#address.host;
    return `http://${h}:${this.#address.port}${METRICS_PATH}`;
  }

  /**
   * Listens on `listen` and logs `metrics listening url=...` at info.
   * @throws MetricsServerError `ERR_METRICS_LISTEN` (the listen error as `cause`)
   */
  static async start(
    exporter: PrometheusExporter,
    listen: HostPort,
    logger: Logger,
  ): Promise<MetricsServer> {
    const log = logger.child({ component: 'metrics' });
    let warned = false;
    const server = http().createServer((req, res) => {
      void serve(exporter, req, res).catch((err: unknown) => {
        if (!warned) log.warn('a scrape failed (further failures are not logged)', { err });
        warned = true;
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('metrics unavailable\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new MetricsServerError(
            'ERR_METRICS_LISTEN',
            `--metrics-listen ${listen.host}:${listen.port}: cannot listen`,
            { cause: err },
          ),
        );
      });
      server.listen(listen.port, listen.host, () => resolve());
    });
    // The server itself never keeps a stopping daemon alive.
    server.unref();
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
    const s = new MetricsServer(server, { host: listen.host, port });
    log.info('metrics listening', { url: s.url });
    return s;
  }

  /** Stops listening and closes open connections. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

async function serve(
  exporter: PrometheusExporter,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end();
    return;
  }
  const body = await exporter.render();
  res.writeHead(200, {
    'Content-Type': exporter.contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
