// Repeating conditions from the network (a refused client retrying every 100 ms, a sender whose
// handshake keeps failing) must not flood the log, and a hostile peer must not grow our memory
// by inventing keys: the first occurrence of each key is logged, later ones at most once per
// interval with the number left out in between, and only the most recent keys are remembered.

/** Options of {@link LogLimiter}. */
export interface LogLimiterOptions {
  /** After a logged occurrence, the same key is logged again no sooner than this, ms. Default 60000. */
  intervalMs?: number;
  /** Keys remembered; beyond it the least recently logged one is forgotten. Default 1024. */
  maxKeys?: number;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
}

/** Default {@link LogLimiterOptions.intervalMs}, ms. */
export const LOG_LIMITER_INTERVAL_MS = 60_000;

/** Decides, per key, which occurrences of a repeating condition get a log line. */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** key → time of its last logged occurrence and occurrences left out since; oldest first. */
  readonly #seen = new Map<string, { atMs: number; suppressed: number }>();

  constructor(options: LogLimiterOptions = {}) {
    this.#intervalMs = options.intervalMs ?? LOG_LIMITER_INTERVAL_MS;
    this.#maxKeys = options.maxKeys ?? 1024;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Records one occurrence of `key`.
   * @returns undefined when it is not to be logged; otherwise how many occurrences were left
   *   out since the last logged one (0 for the first)
   */
  hit(key: string): number | undefined {
    const now = this.#now();
    const entry = this.#seen.get(key);
    if (entry !== undefined && now - entry.atMs < this.#intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    // Re-inserted, so the Map's order stays "least recently logged first".
    this.#seen.delete(key);
    this.#seen.set(key, { atMs: now, suppressed: 0 });
    if (this.#seen.size > this.#maxKeys) this.#seen.delete(this.#seen.keys().next().value!);
    return suppressed;
  }

  /** Forgets every key (after a reload, a refused key is news again). */
  clear(): void {
    this.#seen.clear();
  }
}
