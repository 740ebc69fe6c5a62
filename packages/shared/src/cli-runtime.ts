import { Option, type OptionValues } from 'commander';
import { statsdOptionsFrom } from './cli.js';
import type { LogFields, Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { MetricsServer, metricsListenFrom } from './metrics-server.js';
import { watchSignals, type SignalWatcher } from './signals.js';
import { parseSeconds } from './units.js';

// What every long-running tool (sender, receiver, relays) holds while it runs: its statsd
// counters, its signal handlers and its periodic "stats" log line. Each tool wrote the same
// setup and teardown; here it is once, so they release them in the same order on every path.

/** What {@link withCliRuntime} hands to the tool's body. */
export interface CliRuntime {
  /** SIGTERM/SIGINT/SIGHUP handlers (watchSignals), installed for the body's lifetime. */
  signals: SignalWatcher;
  /**
   * The counters, exported to statsd (the options addStatsdOptions added; nothing without -m)
   * and to Prometheus (`--metrics-listen`, addMetricsListenOption; nothing without it).
   */
  metrics: Metrics;
}

/**
 * Runs a CLI's `body` with its metrics (statsd from statsdOptionsFrom(opts); with
 * `--metrics-listen`, Prometheus and the `/metrics` server, started before `body` so a port in
 * use fails before anything else opens) and its signal watcher, then, whether `body` resolved or
 * threw, closes the server and the metrics (the last counters are flushed) and removes the
 * signal handlers.
 * @returns what `body` resolves to
 * @throws MetricsServerError `ERR_METRICS_LISTEN` (exit 1); what `body` throws
 */
export async function withCliRuntime<T>(
  opts: OptionValues,
  logger: Logger,
  body: (runtime: CliRuntime) => Promise<T>,
): Promise<T> {
  const listen = metricsListenFrom(opts);
  const signals = watchSignals();
  const metrics = createMetrics(
    statsdOptionsFrom(opts),
    logger,
    listen === null ? null : { tool: logger.name },
  );
  let server: MetricsServer | null = null;
  try {
    if (listen !== null) server = await MetricsServer.start(metrics.prometheus!, listen, logger);
    return await body({ signals, metrics });
  } finally {
    await server?.close();
    await metrics.close();
    signals.dispose();
  }
}

/**
 * The `--stats-interval <seconds>` option of the periodic "stats" line: parsed to ms, 0 turns the
 * line off (only the final summary is logged).
 * @param defaultS default in seconds
 */
export function statsIntervalOption(defaultS: number): Option {
  return new Option(
    '--stats-interval <seconds>',
    'period of the "stats" log line, seconds (0: only the final summary)',
  )
    .argParser(parseSeconds)
    .default(defaultS * 1000, String(defaultS));
}

/**
 * Logs the info line `stats` with `fields()` every `intervalMs` ms (0: never). The timer does
 * not keep the process alive.
 * @returns a function that stops the line (safe to call twice)
 */
export function startStatsLine(
  log: Logger,
  intervalMs: number,
  fields: () => LogFields,
): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => log.info('stats', fields()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
