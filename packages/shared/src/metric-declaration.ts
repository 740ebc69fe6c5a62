// The shape of the one metric declaration (metric-names.ts): a Prometheus family (name, type,
// help, label names) and the series call sites count into (the family with its fixed labels,
// and the statsd name that keeps the Python tool's dashboards working). Both exporters read the
// same counters: statsd gets each series' increments under its statsd name (summed over the
// labels a call site adds), Prometheus gets every labelled value.

/** Prometheus metric types we export. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One Prometheus family: what `# HELP` and `# TYPE` say, and which labels its series may carry. */
export interface MetricFamily {
  /** Full Prometheus name: `nflog_pipe_` prefix, base units, counters end in `_total`. */
  readonly name: string;
  readonly type: MetricType;
  /** The `# HELP` text (one line). */
  readonly help: string;
  /** Every label a series of this family may carry (fixed ones and those call sites add). */
  readonly labelNames: readonly string[];
  /** Histograms: upper bounds of the buckets, in the family's unit (seconds). */
  readonly buckets?: readonly number[];
  /**
   * Call sites may add labels beyond `labelNames` (valid, not reserved names): the sender's
   * `--prefix-labels` turns each log prefix's keys into labels, known only at run time.
   */
  readonly openLabels?: boolean;
}

/**
 * What a call site counts into: a family with its fixed labels (e.g. `stage="kernel"`), the
 * labels the call site must add (`dynamic`, e.g. `output`), and the statsd name, if the series
 * is also sent to statsd.
 */
export interface MetricSeries {
  readonly family: MetricFamily;
  /** Label values fixed by the declaration. */
  readonly labels: Readonly<Record<string, string>>;
  /** Label names a call site supplies (Metrics.counter(series, labels)); empty = none. */
  readonly dynamic: readonly string[];
  /**
   * statsd name (without the prefix), or undefined when the series is Prometheus-only. A
   * `{label}` in it is replaced by that call-site label's value (`shard.{shard}.raw_out.pkt`),
   * so a labelled series can have one statsd counter per value instead of one summed over them.
   */
  readonly statsd: string | undefined;
}

/** A `{label}` placeholder in a statsd name. */
const STATSD_PLACEHOLDER = /\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;

/**
 * The statsd name of a series with its placeholders filled from `labels`; characters statsd
 * would misread (`.` `:` `|` `@` and the like) in a value become `_`.
 */
export function expandStatsdName(name: string, labels: Readonly<Record<string, string>>): string {
  return name.replace(STATSD_PLACEHOLDER, (_, label: string) =>
    (labels[label] ?? '').replace(/[^A-Za-z0-9_-]/g, '_'),
  );
}

/** Label name rule of the Prometheus data model (names starting with `__` are reserved). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** True when `name` is a valid Prometheus label name that is not reserved (`__...`). */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}

/**
 * Declares a family. Checks the naming conventions once, at load: the `nflog_pipe_` prefix,
 * `_total` on counters and only on counters, valid label names.
 * @throws Error when a declaration breaks them (a programming error)
 */
export function family(f: MetricFamily): MetricFamily {
  const bad = (why: string): never => {
    throw new Error(`metric family ${f.name}: ${why}`);
  };
  if (!METRIC_NAME.test(f.name) || !f.name.startsWith('nflog_pipe_')) bad('needs nflog_pipe_');
  if ((f.type === 'counter') !== f.name.endsWith('_total')) bad('_total is for counters only');
  if (f.type === 'histogram' && (f.buckets === undefined || f.buckets.length === 0))
    bad('a histogram needs buckets');
  for (const l of f.labelNames) if (!isLabelName(l)) bad(`bad label name ${l}`);
  return Object.freeze({ ...f, labelNames: Object.freeze([...f.labelNames]) });
}

/**
 * Declares a series of `fam`: `labels` fixed here, `dynamic` label names added by each call
 * site, and its statsd name (undefined: Prometheus only; `{label}` placeholders name dynamic
 * labels, see {@link MetricSeries.statsd}).
 * @throws Error when a label is not one of the family's, or a placeholder not a dynamic label
 */
export function series(
  fam: MetricFamily,
  labels: Record<string, string>,
  statsd: string | undefined,
  dynamic: readonly string[] = [],
): MetricSeries {
  for (const l of [...Object.keys(labels), ...dynamic]) {
    if (!fam.labelNames.includes(l)) throw new Error(`${fam.name} has no label ${l}`);
  }
  for (const [, l] of (statsd ?? '').matchAll(STATSD_PLACEHOLDER)) {
    if (!dynamic.includes(l!))
      throw new Error(`${fam.name}: statsd {${l}} is not a call-site label`);
  }
  return Object.freeze({
    family: fam,
    labels: Object.freeze({ ...labels }),
    dynamic: Object.freeze([...dynamic]),
    statsd,
  });
}

/**
 * The statsd name of `s` (tests and summary lines key statsd counters by it).
 * @throws TypeError for a Prometheus-only series
 */
export function statsdName(s: MetricSeries): string {
  if (s.statsd === undefined) throw new TypeError(`${s.family.name} has no statsd name`);
  return s.statsd;
}
