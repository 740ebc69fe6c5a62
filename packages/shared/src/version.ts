import { readFileSync } from 'node:fs';

function readVersion(): string {
  // The workspace packages share the root version; fall back to this package's own when the
  // package runs outside the repository.
  for (const rel of ['../../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next one
    }
  }
  return '0.0.0';
}

/** The nflog-pipe version printed by `--version` (the root package.json's, read once at load). */
export const VERSION = readVersion();
