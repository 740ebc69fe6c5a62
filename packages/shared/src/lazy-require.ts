// A dependency loaded when it is first used instead of when its importer is: the sender binds
// its NFLOG groups before it needs ZeroMQ, statsd or zlib, and every millisecond before the bind
// is packets the kernel drops with nobody counting them (docs/operations.md, "Start-up").
// Measured: zeromq and hot-shots at import cost the sender 40-70 ms of its start, prom-client
// alone another 50-80 ms.

import { createRequire } from 'node:module';

/**
 * Returns a function that loads module `id` with require(), resolved from `from` (pass the
 * caller's `import.meta.url`, so the caller's package resolves its own dependency), on its
 * first call, and returns the same module on every later call. For CommonJS packages (zeromq,
 * hot-shots) and `node:` built-ins; the caller imports the types alone (`import type`).
 * @throws what require() throws (MODULE_NOT_FOUND, ...), at the first call
 */
export function lazyRequire<T>(from: string, id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= createRequire(from)(id) as T);
}
