// Proves shapeFrame, the v1 rate-control step the sender and the compress relay share: each frame gets the regime the real shaper is in (pass: the plain frame, compress: a frame that inflates to it, drop: nothing), heartbeats pass unoffered, and a relay's input is passed on without being encoded again.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, type FrameFields } from '@nflog-pipe/shared';
import { RateShaper, compressFrame, inflateFrame, shapeFrame } from '../src/index.js';
import { FakeClock, makeRecords, textPayload } from './helpers.js';

/** Bytes the shaper has been offered so far, in every regime. */
function offered(shaper: RateShaper): number {
  const s = shaper.stats();
  return s.passBytes + s.compressBytes + s.dropBytes;
}

test('property: shaped frames follow the shaper regime and inflate to exactly the frames not dropped (sender and relay callers)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          dtMs: fc.integer({ min: 0, max: 300 }),
          // Each inner array is one kernel read (a piece of the batch); empty reads are allowed.
          reads: fc.array(
            fc.array(
              // At least 20 bytes: a raw IP record holds an IPv4 header.
              fc.oneof(
                fc.uint8Array({ minLength: 20, maxLength: 300 }),
                fc.integer({ min: 20, max: 1500 }),
              ),
              { maxLength: 4 },
            ),
            { maxLength: 3 },
          ),
          meta: fc.boolean(),
          relay: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
      (steps) => {
        const clock = new FakeClock();
        const shaper = new RateShaper({
          lwmBps: 2000,
          hwmBps: 20000,
          windowBytes: 3000,
          now: clock.now,
        });
        const kept: Buffer[] = [];
        const received: Buffer[] = [];
        steps.forEach((step, i) => {
          clock.advance(step.dtMs);
          const pieces = step.reads.map((read, r) =>
            makeRecords(
              read.map((p, k) =>
                typeof p === 'number' ? textPayload(i + r + k, p) : Buffer.from(p),
              ),
            ),
          );
          const fields: FrameFields = {
            linktype: 101,
            senderId: 0x1122334455667788n,
            firstSeq: BigInt(i * 100),
            count: step.reads.reduce((n, read) => n + read.length, 0),
            ...(step.meta ? { meta: Buffer.from(`{"i":${i}}`) } : {}),
          };
          const plain = encodeFrame(fields, pieces);
          const regime = shaper.regime;
          const offeredBefore = offered(shaper);
          // The relay hands over the frame it decoded and the message itself; the sender its
          // fields and the pieces of its batch.
          const decoded = decodeFrame(plain);
          const out = step.relay
            ? shapeFrame(shaper, { fields: decoded, records: decoded.records, encoded: plain })
            : shapeFrame(shaper, { fields, records: pieces });
          if (fields.count === 0) {
            // A heartbeat is never offered and always passes.
            assert.equal(offered(shaper), offeredBefore);
            assert.deepEqual(out, plain);
          } else {
            // The shaper is offered the frame as it would go out uncompressed.
            assert.equal(offered(shaper), offeredBefore + plain.length);
            if (regime === 'drop') assert.equal(out, null);
            else if (regime === 'pass') assert.deepEqual(out, plain);
            else assert.deepEqual(out, compressFrame(plain));
          }
          if (step.relay && out !== null && (regime !== 'compress' || fields.count === 0))
            assert.equal(out, plain, 'a passed relay input is the message itself');
          if (out === null) return;
          kept.push(plain);
          received.push(inflateFrame(out));
        });
        assert.deepEqual(received, kept);
      },
    ),
  );
});

test('a relay input that is already compressed stays as it is in the compress regime', () => {
  const clock = new FakeClock();
  // lwm 1 B/s, no hwm: the first frame closes a 1-byte window at an infinite rate → compress.
  const shaper = new RateShaper({ lwmBps: 1, hwmBps: 0, windowBytes: 1, now: clock.now });
  const plain = encodeFrame(
    { linktype: 101, senderId: 1n, firstSeq: 0n, count: 1 },
    makeRecords([textPayload(0, 400)]),
  );
  assert.equal(
    shapeFrame(shaper, {
      fields: decodeFrame(plain),
      records: decodeFrame(plain).records,
      encoded: plain,
    }),
    plain,
  );
  assert.equal(shaper.regime, 'compress');
  const packed = compressFrame(plain);
  const f = decodeFrame(packed);
  assert.equal(shapeFrame(shaper, { fields: f, records: f.records, encoded: packed }), packed);
  assert.deepEqual([shaper.stats().passPkts, shaper.stats().compressPkts], [1, 1]);
});
