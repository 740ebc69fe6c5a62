// The client keys a CURVE server admits (`--curve-allow`), loaded from what the operator named:
// a public certificate file, a directory of them (czmq zauth's certificate store: every regular
// file whose name does not end in `_secret`), or a key written inline as 40 Z85 characters.
// reload() reads the same sources again (SIGHUP); a reload that fails keeps the keys it had,
// so a half-copied directory never locks every sender out.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CurveError } from './curve-error.js';
import { readCertificate } from './curve-cert.js';
import type { Logger } from './logger.js';
import { isZ85Key } from './z85.js';

/**
 * Who a binding socket admits: `'any'` (encryption without client authentication, the CURVE
 * "Stonehouse" pattern without a key check) or the sources of an allowlist (certificate files,
 * directories of them, inline Z85 keys).
 */
export type CurveAllow = 'any' | readonly string[];

/** What a load or reload found. */
export interface AllowlistLoad {
  /** Keys admitted now. */
  keys: number;
  /** Keys that were not admitted before (all of them at the first load). */
  added: string[];
  /** Keys admitted before and not any more. */
  removed: string[];
  /** Files in a directory that were skipped (not certificates), each `path: why`. */
  skipped: string[];
}

/** Reads every source; a directory's unreadable or malformed files are skipped, not fatal. */
async function readSources(
  sources: readonly string[],
): Promise<{ keys: Map<string, string>; skipped: string[] }> {
  const keys = new Map<string, string>(); // key → where it came from
  const skipped: string[] = [];
  for (const source of sources) {
    const st = await stat(source).catch((err: unknown) => err as Error);
    if (st instanceof Error) {
      if (isZ85Key(source)) {
        keys.set(source, 'inline');
        continue;
      }
      throw new CurveError(
        'ERR_CURVE_CERT_READ',
        `--curve-allow ${source}: neither a certificate, a directory nor a 40-character Z85 key`,
        { cause: st },
      );
    }
    if (!st.isDirectory()) {
      keys.set((await readCertificate(source)).publicKey, source);
      continue;
    }
    let names: string[];
    try {
      names = (await readdir(source)).sort();
    } catch (err) {
      throw new CurveError('ERR_CURVE_CERT_READ', `cannot list ${source}`, { cause: err });
    }
    for (const name of names) {
      // czmq's store skips secret certificates; dot files are editors' and tools' leftovers.
      if (name.endsWith('_secret') || name.startsWith('.')) continue;
      const path = join(source, name);
      const fst = await stat(path).catch(() => null);
      if (fst === null || !fst.isFile()) continue;
      try {
        keys.set((await readCertificate(path)).publicKey, path);
      } catch (err) {
        skipped.push(`${path}: ${(err as Error).message}`);
      }
    }
  }
  return { keys, skipped };
}

/** A set of admitted client keys (Z85) and the sources it was read from. */
export class ZapAllowlist {
  readonly #sources: readonly string[];
  #keys = new Map<string, string>();

  private constructor(sources: readonly string[]) {
    this.#sources = sources;
  }

  /**
   * Reads `sources` (see the file comment). Skipped directory entries are warned about on
   * `logger`; an empty result is warned about too (every client is refused until a reload).
   * @throws CurveError `ERR_CURVE_CERT_READ` (a source that does not exist or cannot be listed)
   *   or `ERR_CURVE_BAD_CERT` (a named file that is not a certificate)
   */
  static async load(sources: readonly string[], logger?: Logger): Promise<ZapAllowlist> {
    const list = new ZapAllowlist(sources);
    const r = await list.reload();
    for (const s of r.skipped) logger?.warn('allowlist: skipped a file', { file: s });
    if (r.keys === 0)
      logger?.warn('allowlist is empty: every client is refused until SIGHUP reloads it', {
        sources: sources.join(','),
      });
    return list;
  }

  /** Whether `key` (Z85) is admitted. */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Where an admitted key was read from (a file path, or `inline`). */
  sourceOf(key: string): string | undefined {
    return this.#keys.get(key);
  }

  /** Number of admitted keys. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Reads the sources again and swaps the new set in only when all of them could be read.
   * @throws what load() throws; the keys admitted before stay admitted then
   */
  async reload(): Promise<AllowlistLoad> {
    const { keys, skipped } = await readSources(this.#sources);
    const added = [...keys.keys()].filter((k) => !this.#keys.has(k));
    const removed = [...this.#keys.keys()].filter((k) => !keys.has(k));
    this.#keys = keys;
    return { keys: keys.size, added, removed, skipped };
  }
}
