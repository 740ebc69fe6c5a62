/**
 * The one place test timeouts live. Tests await events; a timeout only turns a hang into a
 * readable failure, so it is generous and never used to measure speed.
 */

/** Default upper bound for any awaited test event, in milliseconds (20 s). */
export const TEST_TIMEOUT_MS = 20_000;

/**
 * Resolves or rejects like `p`, but rejects with an `ERR_TEST_TIMEOUT` error naming `what`
 * when `p` has not settled after `ms` milliseconds. The timer never keeps the process alive.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new Error(`timed out after ${ms} ms waiting for ${what}`) as Error & {
        code: string;
      };
      err.code = 'ERR_TEST_TIMEOUT';
      reject(err);
    }, ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        // `p`'s own rejection reason, passed through unchanged (whatever its type).
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(e);
      },
    );
  });
}
