// The Prometheus side of the metrics: a prom-client registry whose counters and gauges read the
// process's series (metrics.ts) when scraped, so both exporters see the same counts and the hot
// path never touches prom-client. Histograms are prom-client's own (Prometheus only).

import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { lazyRequire } from './lazy-require.js';
import type { MetricFamily, MetricSeries } from './metric-declaration.js';
import type { HistogramHandle, MetricSample, MetricsSource } from './metrics.js';

// prom-client takes 50-80 ms to load, and only a daemon with --metrics-listen builds an exporter:
// loaded then, not at import, so a sender without it binds its groups sooner (lazy-require.ts).
const promClient = lazyRequire<typeof import('prom-client')>(import.meta.url, 'prom-client');

/**
 * prom-client default metrics left out: gauges whose names end in `_total`, which
 * `promtool check metrics` rejects (the same counts are in their per-type siblings
 * `nodejs_active_handles` etc., which stay).
 */
export const PROMETHEUS_DEFAULTS_LEFT_OUT = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** Options of {@link PrometheusExporter}. */
export interface PrometheusExporterOptions {
  /** Register prom-client's process and event-loop metrics (default true). */
  defaultMetrics?: boolean;
}

interface Exported {
  metric: Counter | Gauge;
  labelNames: ReadonlySet<string>;
}

/**
 * A prom-client Registry over a MetricsSource. At each {@link render} the source's export
 * hooks run (cumulative counters kept elsewhere are folded in), each family gets a prom-client
 * Counter or Gauge whose `collect()` copies the series' values, and the registry renders the
 * text format. A family whose series gained a label name (the sender's `--prefix-labels`) is
 * registered again with the wider label set.
 */
export class PrometheusExporter {
  readonly #source: MetricsSource;
  readonly #defaultMetrics: boolean;
  #registry: Registry | undefined;
  readonly #exported = new Map<MetricFamily, Exported>();
  readonly #histograms = new Map<MetricSeries, Histogram>();
  #samples = new Map<MetricFamily, Iterable<MetricSample>>();

  constructor(source: MetricsSource, options: PrometheusExporterOptions = {}) {
    this.#source = source;
    this.#defaultMetrics = options.defaultMetrics ?? true;
  }

  /**
   * The registry; register further prom-client metrics here. Made at its first use (the first
   * scrape, or a histogram), which is when prom-client is loaded: a daemon starting with
   * `--metrics-listen` does not pay for it before its engine is up (the sender binds its
   * groups first). prom-client's default metrics count from then on (their event-loop and GC
   * figures leave out the start-up; the process's CPU and memory are cumulative anyway).
   */
  get registry(): Registry {
    if (this.#registry === undefined) {
      const registry = new (promClient().Registry)();
      if (this.#defaultMetrics) {
        promClient().collectDefaultMetrics({ register: registry });
        for (const name of PROMETHEUS_DEFAULTS_LEFT_OUT) registry.removeSingleMetric(name);
      }
      this.#registry = registry;
    }
    return this.#registry;
  }

  /** Content-Type of {@link render}'s text (the Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The histogram of `series`, created on first use (its family's buckets; no labels).
   * @throws TypeError for a family that is not a histogram or a series with labels
   */
  histogram(series: MetricSeries): HistogramHandle {
    let h = this.#histograms.get(series);
    if (h === undefined) {
      const fam = series.family;
      if (fam.type !== 'histogram' || fam.labelNames.length > 0)
        throw new TypeError(`${fam.name}: not an unlabelled histogram`);
      h = new (promClient().Histogram)({
        name: fam.name,
        help: fam.help,
        buckets: [...(fam.buckets ?? [])],
        registers: [this.registry],
      });
      this.#histograms.set(series, h);
    }
    const hist = h;
    return { observe: (v) => hist.observe(v) };
  }

  /** Runs the export hooks and renders every metric in the text format. */
  async render(): Promise<string> {
    this.#source.runExportHooks();
    this.#samples = new Map(this.#source.families());
    for (const [fam, samples] of this.#samples) this.#ensure(fam, samples);
    return this.registry.metrics();
  }

  #ensure(fam: MetricFamily, samples: Iterable<MetricSample>): void {
    const names = new Set(fam.labelNames);
    for (const s of samples) for (const k of Object.keys(s.labels)) names.add(k);
    const have = this.#exported.get(fam);
    if (have !== undefined && [...names].every((n) => have.labelNames.has(n))) return;
    if (have !== undefined) this.registry.removeSingleMetric(fam.name);
    const labelNames = [...names];
    const read = (): Iterable<MetricSample> => this.#samples.get(fam) ?? [];
    const config = { name: fam.name, help: fam.help, labelNames, registers: [this.registry] };
    // collect() runs inside registry.metrics(); a series created since render() began (a
    // label set not registered yet) is skipped here and exported by the next scrape.
    const fits = (s: MetricSample): boolean => Object.keys(s.labels).every((k) => names.has(k));
    const metric =
      fam.type === 'counter'
        ? new (promClient().Counter)({
            ...config,
            collect(this: Counter) {
              this.reset();
              for (const s of read()) if (fits(s)) this.inc(s.labels, s.value);
            },
          })
        : new (promClient().Gauge)({
            ...config,
            collect(this: Gauge) {
              this.reset();
              for (const s of read()) if (fits(s)) this.set(s.labels, s.value);
            },
          });
    this.#exported.set(fam, { metric, labelNames: names });
  }
}
