// Helpers of the wire codec tests: this package's `.hex` fixtures (test/fixtures/), the
// WireError check, and the mutated-message generator and decode harness their fuzz tests share.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WIRE_ERROR_CODES, WireError } from '../src/index.js';
import { readHexFixture } from '@nflog-pipe/testing';

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

/** Asserts that `fn` throws a WireError with code `code`. */
export function expectWireError(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WireError, `expected WireError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/**
 * Runs `decode` on `numRuns` generated messages: each must either decode, and then pass
 * `check` (which must not throw at all), or be rejected with a WireError of a known code.
 * @returns how many decoded and how many were rejected (together `numRuns`)
 */
export function fuzzDecode<T>(
  messages: fc.Arbitrary<Buffer>,
  decode: (buf: Buffer) => T,
  check: (buf: Buffer, decoded: T) => void,
  numRuns = 2000,
): { decoded: number; rejected: number } {
  let decoded = 0;
  let rejected = 0;
  fc.assert(
    fc.property(messages, (buf) => {
      let value: T;
      try {
        value = decode(buf);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        assert.ok((WIRE_ERROR_CODES as readonly string[]).includes(err.code), err.code);
        rejected++;
        return;
      }
      decoded++;
      check(buf, value);
    }),
    { numRuns },
  );
  assert.equal(decoded + rejected, numRuns);
  return { decoded, rejected };
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
