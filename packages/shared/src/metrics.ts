import { StatsD } from 'hot-shots';
import type { Logger } from './logger.js';
import type { MetricName } from './metric-names.js';

/** Default flush interval of aggregated counters, in milliseconds (10 s). */
export const STATSD_DEFAULT_FLUSH_MS = 10_000;

/** Largest statsd datagram we send, in bytes: fits a 1500-byte MTU with IP/UDP headers. */
export const STATSD_MAX_DATAGRAM_BYTES = 1432;

/** Where and how counters are sent (built by statsdOptionsFrom from the CLI flags). */
export interface StatsdOptions {
  /** statsd server host name or address. */
  host: string;
  /** statsd UDP port (8125 by default on the CLI). */
  port: number;
  /** Prepended to every metric name, already expanded (no `{host}` left). */
  prefix: string;
  /** How often aggregated counters are sent, in milliseconds. */
  flushIntervalMs: number;
  /** statsd type suffix, e.g. 'c' (counter) or the Python tool's 'd'. */
  type: string;
}

/** In-process counters with a periodic statsd flush. */
export interface Metrics {
  /** Adds `n` (default 1) to counter `name`: a Map update, no I/O. */
  increment(name: MetricName, n?: number): void;
  /** Sends every counter that changed since the last flush, as few datagrams as fit (usually one). */
  flush(): void;
  /** Stops the timer, flushes and closes the statsd socket. Safe to call twice. */
  close(): Promise<void>;
  /** Cumulative totals since creation, for the periodic log line (only counters ever incremented). */
  snapshot(): Partial<Record<MetricName, number>>;
}

/** The part of hot-shots' client we use; `send` is its untyped generic line sender. */
interface StatsdClient {
  send(
    message: string,
    tags: undefined,
    cardinality: undefined,
    callback: (err?: Error | null) => void,
  ): void;
  close(callback?: (error?: Error) => void): void;
}

/**
 * Creates the process's counters. With `options`, one hot-shots UDP client sends each non-zero
 * counter once per `flushIntervalMs` (an unref'd timer) as `<prefix><name>:<delta>|<type>`,
 * lines joined by `\n` into datagrams of at most STATSD_MAX_DATAGRAM_BYTES — never one datagram
 * per packet. Send errors are logged once per error code (warn) and never thrown, so losing
 * statsd never stops the pipe. With `options` null nothing is sent but snapshot() still works.
 */
export function createMetrics(options: StatsdOptions | null, logger: Logger): Metrics {
  const pending = new Map<MetricName, number>();
  const totals = new Map<MetricName, number>();
  const warned = new Set<string>();
  const log = logger.child({ component: 'statsd' });

  const onError = (err: unknown): void => {
    const code = (err as { code?: unknown } | null)?.code;
    const key = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
    // Repeating conditions warn once; after that only the missing metrics show it.
    if (warned.has(key)) return;
    warned.add(key);
    log.warn('cannot send metrics (further errors of this kind are not logged)', { err });
  };

  let client: StatsdClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  if (options !== null) {
    client = new StatsD({
      host: options.host,
      port: options.port,
      protocol: 'udp',
      // We aggregate and batch ourselves: no hot-shots buffering, aggregation, tags or telemetry.
      maxBufferSize: 0,
      aggregation: false,
      datadog: false,
      includeDataDogTags: false,
      includeDatadogTelemetry: false,
      originDetection: false,
      globalTags: [],
      errorHandler: onError,
    }) as unknown as StatsdClient;
    timer = setInterval(() => flush(), options.flushIntervalMs);
    timer.unref();
  }

  // Sends whose callback has not fired yet; close() waits for them so the last flush is not lost
  // to a socket closed under it. UDP send callbacks always fire (sent or error).
  const inflight = new Set<Promise<void>>();
  function send(payload: string): void {
    const c = client;
    if (c === null) return;
    const p = new Promise<void>((resolve) => {
      try {
        c.send(payload, undefined, undefined, (err) => {
          if (err) onError(err);
          resolve();
        });
      } catch (err) {
        onError(err);
        resolve();
      }
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  }

  function flush(): void {
    if (pending.size === 0) return;
    if (client === null || options === null) {
      pending.clear();
      return;
    }
    let payload = '';
    for (const [name, value] of pending) {
      if (value === 0) continue;
      const line = `${options.prefix}${name}:${value}|${options.type}`;
      if (
        payload !== '' &&
        Buffer.byteLength(payload) + 1 + Buffer.byteLength(line) > STATSD_MAX_DATAGRAM_BYTES
      ) {
        send(payload);
        payload = '';
      }
      payload = payload === '' ? line : `${payload}\n${line}`;
    }
    pending.clear();
    if (payload !== '') send(payload);
  }

  let closing: Promise<void> | undefined;
  return {
    increment(name: MetricName, n = 1): void {
      pending.set(name, (pending.get(name) ?? 0) + n);
      totals.set(name, (totals.get(name) ?? 0) + n);
    },
    flush,
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(timer);
        flush();
        const c = client;
        client = null;
        if (c === null) return;
        await Promise.all(inflight);
        await new Promise<void>((resolve) => {
          try {
            c.close((err) => {
              if (err) onError(err);
              resolve();
            });
          } catch (err) {
            onError(err);
            resolve();
          }
        });
      })();
      return closing;
    },
    snapshot() {
      return Object.fromEntries(totals);
    },
  };
}
