// `--prefix-labels`: a log prefix written as key=value pairs becomes Prometheus labels, the
// convention nfprom uses for nft rule comments (`nft(l2proto=ipv4;service=SSH;dir=in)`), here in
// an nft `log prefix "svc=dns;dir=out"`.

import { isLabelName } from '@nflog-pipe/shared';

/** Label names the accounting series set themselves; a prefix cannot use them as keys. */
const RESERVED = new Set(['group', 'prefix']);

/**
 * Parses `key=value;key=value` (whitespace around the prefix, the keys and the values ignored;
 * empty pairs, e.g. a trailing `;`, skipped) into labels. Keys must be Prometheus label names,
 * not `group` or `prefix`, each once; a value may be empty. Returns null when the prefix is not
 * of that form, so the caller keeps it whole as `prefix="..."`.
 */
export function parsePrefixLabels(prefix: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  let pairs = 0;
  for (const part of prefix.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    if (!isLabelName(key) || RESERVED.has(key) || Object.hasOwn(labels, key)) return null;
    labels[key] = part.slice(eq + 1).trim();
    pairs++;
  }
  return pairs > 0 ? labels : null;
}
