import { readFileSync } from 'node:fs';

/**
 * Reads a `.hex` fixture: a line `@ name` starts a section, `#` starts a comment (to the end of
 * the line), everything else is hex bytes (white space ignored).
 * @param url the file, e.g. `new URL('../../test/fixtures/x.hex', import.meta.url)` from dist/test
 * @returns section name → its bytes, in file order
 * @throws Error when bytes come before the first `@ name` line
 */
export function readHexFixture(url: URL): Map<string, Buffer> {
  const text = readFileSync(url, 'utf8');
  const parts = new Map<string, string>();
  let current: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line.startsWith('@')) {
      current = line.slice(1).trim();
      parts.set(current, '');
    } else if (line !== '') {
      if (current === undefined)
        throw new Error(`${url.pathname}: bytes before the first "@ name"`);
      parts.set(current, parts.get(current)! + line.replace(/\s+/g, ''));
    }
  }
  return new Map([...parts].map(([k, hex]) => [k, Buffer.from(hex, 'hex')]));
}
