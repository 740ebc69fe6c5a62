// Helpers of the wire codec tests: this package's `.hex` fixtures (test/fixtures/) and the
// mutated-message generator their fuzz tests share.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readHexFixture } from '../src/testing/index.js';

/** Reads test/fixtures/`name` (see readHexFixture for the format). */
export function loadHex(name: string): Map<string, Buffer> {
  return readHexFixture(new URL(`../../test/fixtures/${name}`, import.meta.url));
}

/** A private copy of section `name` of a loaded fixture, so a test may mutate it. */
export function fixture(map: Map<string, Buffer>, name: string): Buffer {
  const buf = map.get(name);
  assert.ok(buf, `fixture ${name}`);
  return Buffer.from(buf);
}

/**
 * Messages derived from valid `seeds`: up to 4 bytes overwritten, then either cut short or
 * given up to 8 trailing bytes.
 */
export function mutatedMessages(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ seed, edits, cut, tail }) => {
      let b = Buffer.from(seed);
      for (const [pos, val] of edits) b[pos % b.length] = val;
      if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
      return tail.length > 0 && cut === undefined ? Buffer.concat([b, tail]) : b;
    });
}
