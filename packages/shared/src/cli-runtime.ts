import { Option, type OptionValues } from 'commander';
import { statsdOptionsFrom } from './cli.js';
import type { LogFields, Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { watchSignals, type SignalWatcher } from './signals.js';
import { parseSeconds } from './units.js';

// What every long-running tool (sender, receiver, relays) holds while it runs: its statsd
// counters, its signal handlers and its periodic "stats" log line. Each tool wrote the same
// setup and teardown; here it is once, so they release them in the same order on every path.

/** What {@link withCliRuntime} hands to the tool's body. */
export interface CliRuntime {
  /** SIGTERM/SIGINT/SIGHUP handlers (watchSignals), installed for the body's lifetime. */
  signals: SignalWatcher;
  /** The statsd counters built from the options addStatsdOptions added (a no-op without -m). */
  metrics: Metrics;
}

/**
 * Runs a CLI's `body` with its metrics (`createMetrics(statsdOptionsFrom(opts), logger)`) and its
 * signal watcher, then, whether `body` resolved or threw, closes the metrics (the last counters
 * are flushed) and removes the signal handlers.
 * @returns what `body` resolves to
 * @throws what `body` throws
 */
export async function withCliRuntime<T>(
  opts: OptionValues,
  logger: Logger,
  body: (runtime: CliRuntime) => Promise<T>,
): Promise<T> {
  const signals = watchSignals();
  const metrics = createMetrics(statsdOptionsFrom(opts), logger);
  try {
    return await body({ signals, metrics });
  } finally {
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
