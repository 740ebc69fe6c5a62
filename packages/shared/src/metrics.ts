import type { StatsD } from 'hot-shots';
import { lazyRequire } from './lazy-require.js';
import type { Logger } from './logger.js';
import {
  expandStatsdName,
  isLabelName,
  type MetricFamily,
  type MetricSeries,
} from './metric-declaration.js';
import { METRIC } from './metric-names.js';
import { PrometheusExporter } from './prometheus-exporter.js';
import { VERSION } from './version.js';

// Loaded only when statsd is configured (-m), not at import (see lazy-require.ts).
const hotShots = lazyRequire<{ StatsD: typeof StatsD }>(import.meta.url, 'hot-shots');

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

/** Prometheus export (`--metrics-listen`): what the registry says about this process. */
export interface PrometheusOptions {
  /** The tool's name, the `tool` label of nflog_pipe_build_info. */
  tool: string;
  /** Also register prom-client's process and event-loop metrics (default true). */
  defaultMetrics?: boolean;
}

/** A counter series bound to its labels: counting through it costs two additions. */
export interface CounterHandle {
  /**
   * Adds `n` (default 1). A negative `n` (the receiver's sink taking back records an output
   * reported lost after it took them) reaches statsd, whose counters are deltas, but never lowers
   * the Prometheus value: a counter that decreases reads as a restart there.
   */
  inc(n?: number): void;
  /** Cumulative value since the series was created. */
  readonly value: number;
  /** Stops exporting this labelled series (a peer or sender that is gone). */
  remove(): void;
}

/** A gauge series bound to its labels. */
export interface GaugeHandle {
  set(value: number): void;
  /** Adds `delta` (may be negative). */
  add(delta: number): void;
  readonly value: number;
  /** Stops exporting this labelled series. */
  remove(): void;
}

/** A histogram series (Prometheus only; a no-op without `--metrics-listen`). */
export interface HistogramHandle {
  /** Records one observation, in the family's unit (seconds). */
  observe(value: number): void;
}

/** One labelled value of a family, as the Prometheus exporter reads it. */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What the Prometheus exporter reads from the counters (see PrometheusExporter). */
export interface MetricsSource {
  /** Every family with at least one series, and its series now. */
  families(): Iterable<readonly [MetricFamily, Iterable<MetricSample>]>;
  /** Runs the onExport hooks (cumulative sources folded in just before an export). */
  runExportHooks(): void;
}

/**
 * The process's metrics: every series declared in metric-names.ts, counted once and read by
 * both exporters — statsd (aggregated, flushed on an interval) and, with `--metrics-listen`,
 * Prometheus (read at each scrape).
 */
export interface Metrics {
  /** Adds `n` (default 1) to a series without call-site labels: two additions, no I/O. */
  increment(series: MetricSeries, n?: number): void;
  /**
   * The counter series `series` with the call-site labels `labels` (its `dynamic` ones), bound
   * once so the hot path only adds. Created (at 0, so it is exported from now on) if new.
   * @throws TypeError for a non-counter family or labels the declaration does not allow
   */
  counter(series: MetricSeries, labels?: Readonly<Record<string, string>>): CounterHandle;
  /** The gauge series `series` with `labels` (see counter). Never sent to statsd. */
  gauge(series: MetricSeries, labels?: Readonly<Record<string, string>>): GaugeHandle;
  /** The histogram series `series` (Prometheus only). */
  histogram(series: MetricSeries): HistogramHandle;
  /**
   * Registers `hook`, run just before every export (statsd flush, Prometheus scrape): where
   * cumulative counters kept elsewhere (the kernel's, the native accounting table, the ring's
   * fill) are folded in, so they are read once per export and never per batch.
   * @returns a function that unregisters it
   */
  onExport(hook: () => void): () => void;
  /** Sends every counter that changed since the last flush, as few datagrams as fit (usually one). */
  flush(): void;
  /** Stops the timer, flushes and closes the statsd socket. Safe to call twice. */
  close(): Promise<void>;
  /** Cumulative totals by statsd name, for the periodic log line (series created so far). */
  snapshot(): Partial<Record<string, number>>;
  /** The Prometheus side, or null without it. */
  readonly prometheus: PrometheusExporter | null;
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

/** The statsd side of every series sharing one statsd name. */
interface StatsdCounter {
  readonly name: string;
  /** Added since the last flush. */
  pending: number;
  /** Added since creation (snapshot()). */
  total: number;
}

/** One labelled series: its value, and its statsd counter when it has one. */
class Slot implements CounterHandle, GaugeHandle, MetricSample {
  value = 0;
  readonly labels: Readonly<Record<string, string>>;
  readonly #statsd: StatsdCounter | null;
  readonly #owner: Map<string, Slot>;
  readonly #key: string;

  constructor(
    labels: Readonly<Record<string, string>>,
    statsd: StatsdCounter | null,
    owner: Map<string, Slot>,
    key: string,
  ) {
    this.labels = labels;
    this.#statsd = statsd;
    this.#owner = owner;
    this.#key = key;
  }

  inc(n = 1): void {
    // A Prometheus counter never decreases (a decrease reads as a restart); see CounterHandle.
    if (n > 0) this.value += n;
    const s = this.#statsd;
    if (s !== null) {
      s.pending += n;
      s.total += n;
    }
  }

  set(value: number): void {
    this.value = value;
  }

  add(delta: number): void {
    this.value += delta;
  }

  remove(): void {
    if (this.#owner.get(this.#key) === this) this.#owner.delete(this.#key);
  }
}

const NO_HISTOGRAM: HistogramHandle = { observe: () => {} };

/**
 * Creates the process's counters. With `statsd`, one hot-shots UDP client sends each non-zero
 * counter once per `flushIntervalMs` (an unref'd timer) as `<prefix><name>:<delta>|<type>`,
 * lines joined by `\n` into datagrams of at most STATSD_MAX_DATAGRAM_BYTES — never one datagram
 * per packet; series sharing a statsd name (labelled ones) are summed, unless the name has a
 * `{label}` placeholder (one statsd counter per value). Send errors are logged
 * once per error code (warn) and never thrown, so losing statsd never stops the pipe. With
 * `prometheus`, a prom-client registry exports every series at each scrape (see
 * PrometheusExporter), with nflog_pipe_build_info and prom-client's process metrics. With both
 * null nothing is exported but snapshot() still works.
 */
export function createMetrics(
  statsd: StatsdOptions | null,
  logger: Logger,
  prometheus: PrometheusOptions | null = null,
): Metrics {
  const families = new Map<MetricFamily, Map<string, Slot>>();
  const unlabelled = new Map<MetricSeries, Slot>();
  const statsdCounters = new Map<string, StatsdCounter>();
  const hooks = new Set<() => void>();
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

  function slot(
    series: MetricSeries,
    type: 'counter' | 'gauge',
    labels: Readonly<Record<string, string>> | undefined,
  ): Slot {
    const fam = series.family;
    if (fam.type !== type) throw new TypeError(`${fam.name} is a ${fam.type}, not a ${type}`);
    const all: Record<string, string> = { ...series.labels };
    for (const d of series.dynamic) {
      const v = labels?.[d];
      if (typeof v !== 'string') throw new TypeError(`${fam.name}: label ${d} is required`);
    }
    for (const [k, v] of Object.entries(labels ?? {})) {
      const declared = series.dynamic.includes(k);
      if (!declared && !(fam.openLabels === true && isLabelName(k) && !(k in series.labels)))
        throw new TypeError(`${fam.name}: label ${k} is not declared`);
      all[k] = v;
    }
    const key = Object.keys(all)
      .sort()
      .map((k) => `${k}\u0000${all[k]}`)
      .join('\u0001');
    let byKey = families.get(fam);
    if (byKey === undefined) {
      byKey = new Map();
      families.set(fam, byKey);
    }
    let s = byKey.get(key);
    if (s === undefined) {
      let sc: StatsdCounter | null = null;
      if (series.statsd !== undefined && type === 'counter') {
        const name = expandStatsdName(series.statsd, all);
        sc = statsdCounters.get(name) ?? { name, pending: 0, total: 0 };
        statsdCounters.set(name, sc);
      }
      s = new Slot(Object.freeze(all), sc, byKey, key);
      byKey.set(key, s);
    }
    return s;
  }

  let client: StatsdClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  if (statsd !== null) {
    client = new (hotShots().StatsD)({
      host: statsd.host,
      port: statsd.port,
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
    timer = setInterval(() => flush(), statsd.flushIntervalMs);
    timer.unref();
    // Said at start, not at the first flush (10 s later, or never for a short run): a statsd host
    // that does not resolve is the usual typo. Its send errors carry the same code, so this is
    // the one warning about it.
    {
      const host = statsd.host;
      resolveHost(host).catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : 'ENOTFOUND';
        if (warned.has(key)) return;
        warned.add(key);
        log.warn(
          'cannot resolve the statsd host: metrics are not sent (further errors of this kind are not logged)',
          { host, code: key },
        );
      });
    }
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

  function runExportHooks(): void {
    for (const hook of hooks) hook();
  }

  function flush(): void {
    if (client === null || statsd === null) {
      for (const sc of statsdCounters.values()) sc.pending = 0;
      return;
    }
    runExportHooks();
    let payload = '';
    for (const sc of statsdCounters.values()) {
      if (sc.pending === 0) continue;
      const line = `${statsd.prefix}${sc.name}:${sc.pending}|${statsd.type}`;
      sc.pending = 0;
      if (
        payload !== '' &&
        Buffer.byteLength(payload) + 1 + Buffer.byteLength(line) > STATSD_MAX_DATAGRAM_BYTES
      ) {
        send(payload);
        payload = '';
      }
      payload = payload === '' ? line : `${payload}\n${line}`;
    }
    if (payload !== '') send(payload);
  }

  const source: MetricsSource = {
    families: () => [...families].map(([fam, byKey]) => [fam, [...byKey.values()]] as const),
    runExportHooks,
  };
  const exporter =
    prometheus === null
      ? null
      : new PrometheusExporter(source, { defaultMetrics: prometheus.defaultMetrics ?? true });

  let closing: Promise<void> | undefined;
  const metrics: Metrics = {
    increment(series: MetricSeries, n = 1): void {
      let s = unlabelled.get(series);
      if (s === undefined) {
        s = slot(series, 'counter', undefined);
        unlabelled.set(series, s);
      }
      s.inc(n);
    },
    counter: (series, labels) => slot(series, 'counter', labels),
    gauge: (series, labels) => slot(series, 'gauge', labels),
    histogram: (series) => exporter?.histogram(series) ?? NO_HISTOGRAM,
    onExport(hook: () => void): () => void {
      hooks.add(hook);
      return () => hooks.delete(hook);
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
      const out: Partial<Record<string, number>> = {};
      for (const sc of statsdCounters.values()) out[sc.name] = sc.total;
      return out;
    },
    prometheus: exporter,
  };
  if (prometheus !== null) {
    metrics
      .gauge(METRIC.BUILD_INFO, {
        tool: prometheus.tool,
        version: VERSION,
        nodejs_version: process.version,
      })
      .set(1);
  }
  return metrics;
}

/** Resolves when `host` is an address or a name that resolves; loads node:dns only then. */
async function resolveHost(host: string): Promise<void> {
  const { isIP } = await import('node:net');
  if (isIP(host) !== 0) return;
  const { lookup } = await import('node:dns/promises');
  await lookup(host);
}
