import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** What {@link collectMessages} returns. */
export interface MessageCollector {
  /** Every message received so far (multipart messages as their first part), in order. */
  readonly msgs: Buffer[];
  /** Resolves once at least `n` messages have arrived; rejects after the test timeout. */
  waitCount(n: number): Promise<void>;
  /** Resolves when the source has ended (its socket closed). */
  readonly done: Promise<void>;
}

/**
 * Collects the messages of a receiving socket (a zeromq.js Pull, or anything iterable the same
 * way) until it closes; a receive error (the socket closed under it) ends the collection too.
 */
export function collectMessages(source: AsyncIterable<Buffer[]>): MessageCollector {
  const msgs: Buffer[] = [];
  const waiters = new Set<() => void>();
  const done = (async () => {
    try {
      for await (const [m] of source) {
        msgs.push(m!);
        for (const w of [...waiters]) w();
      }
    } catch {
      // closed while receiving
    }
  })();
  return {
    msgs,
    done,
    waitCount: (n) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (msgs.length < n) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          check();
        }),
        TEST_TIMEOUT_MS,
        `${n} messages (have ${msgs.length})`,
      ),
  };
}
