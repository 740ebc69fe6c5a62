// This package's `.hex` fixtures (test/fixtures/), for the wire codec tests.

import assert from 'node:assert/strict';
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
