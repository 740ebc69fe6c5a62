// Proves the RateShaper's regimes and transitions on a fake clock, with exact byte accounting, and (property) that every verdict follows the documented policy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MIB } from '@nflog-pipe/shared';
import {
  COMPRESS_ERROR_CODES,
  RateShaper,
  ShaperRangeError,
  defaultWindowBytes,
  type CompressErrorCode,
  type RateShaperOptions,
  type ShaperVerdict,
} from '../src/index.js';
import { FakeClock } from './helpers.js';

/** Runs (atMs, bytes) steps through a shaper; returns the verdicts. */
function run(
  shaper: RateShaper,
  clock: FakeClock,
  steps: Array<[number, number]>,
): ShaperVerdict[] {
  return steps.map(([at, bytes]) => {
    clock.nowMs = at;
    return shaper.verdict(bytes);
  });
}

test('pass → compress → drop → pass, windows closed by bytes and by time (lwm 1000, hwm 5000 B/s)', () => {
  const clock = new FakeClock();
  const changes: Array<[ShaperVerdict, number, ShaperVerdict]> = [];
  const s = new RateShaper({
    lwmBps: 1000,
    hwmBps: 5000,
    windowBytes: 1000,
    now: clock.now,
    onRegimeChange: (r, rate, prev) => changes.push([r, rate, prev]),
  });
  // 1200 bytes in 300 ms = 4000 B/s: the third message closes the window, still passed.
  assert.deepEqual(
    run(s, clock, [
      [100, 400],
      [200, 400],
      [300, 400],
    ]),
    ['pass', 'pass', 'pass'],
  );
  assert.equal(s.regime, 'compress');
  // Same load: stays compressing (compressing does not lower the measured, offered rate).
  assert.deepEqual(
    run(s, clock, [
      [400, 400],
      [500, 400],
      [600, 400],
    ]),
    ['compress', 'compress', 'compress'],
  );
  assert.equal(s.regime, 'compress');
  // A burst: 1200 bytes in 20 ms = 60000 B/s > hwm.
  assert.deepEqual(
    run(s, clock, [
      [610, 600],
      [620, 600],
    ]),
    ['compress', 'compress'],
  );
  assert.equal(s.regime, 'drop');
  // Dropping still counts the offered bytes. At 620 + 1000 B / 5000 B/s = 820 ms the time rule
  // closes the window: 200 B in 200 ms = 1000 B/s, equal to lwm, which is not above it → pass.
  assert.deepEqual(
    run(s, clock, [
      [700, 100],
      [820, 100],
      [900, 100],
    ]),
    ['drop', 'drop', 'pass'],
  );
  assert.equal(s.regime, 'pass');
  assert.deepEqual(changes, [
    ['compress', 4000, 'pass'],
    ['drop', 60000, 'compress'],
    ['pass', 1000, 'drop'],
  ]);
  assert.deepEqual(s.stats(), {
    passPkts: 4,
    passBytes: 1300,
    compressPkts: 5,
    compressBytes: 2400,
    dropPkts: 2,
    dropBytes: 200,
    windows: 4,
    lastRateBps: 1000,
  });
});

test('a window closes only when its bytes exceed windowBytes, not when they equal it', () => {
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 1000, hwmBps: 0, windowBytes: 1000, now: clock.now });
  run(s, clock, [
    [10, 500],
    [20, 500],
  ]);
  assert.equal(s.windows, 0);
  run(s, clock, [[30, 1]]);
  assert.equal(s.windows, 1);
  assert.equal(s.regime, 'compress');
});

test('drop recovers to compress by the time rule when the load falls between the watermarks', () => {
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 1000, hwmBps: 5000, windowBytes: 1000, now: clock.now });
  run(s, clock, [[100, 1001]]); // 1001 B in 100 ms = 10010 B/s
  assert.equal(s.regime, 'drop');
  // Time rule at 100 + 200 = 300 ms: 400 B in 200 ms = 2000 B/s → compress.
  assert.deepEqual(
    run(s, clock, [
      [200, 300],
      [300, 100],
      [310, 10],
    ]),
    ['drop', 'drop', 'compress'],
  );
  assert.equal(s.stats().lastRateBps, 2000);
  // compress → pass by the time rule after 1000 B / 1000 B/s = 1 s: 10 B in 1 s.
  assert.deepEqual(
    run(s, clock, [
      [1300, 0],
      [1310, 5],
    ]),
    ['compress', 'pass'],
  );
  assert.equal(s.stats().lastRateBps, 10);
});

test('a full window with no elapsed time has an infinite rate', () => {
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 1, hwmBps: 2, windowBytes: 10, now: clock.now });
  assert.equal(s.verdict(11), 'pass');
  assert.equal(s.stats().lastRateBps, Infinity);
  assert.equal(s.regime, 'drop');
});

test('lwm = 0 never compresses: between the watermarks it passes, above hwm it drops', () => {
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 0, hwmBps: 5000, windowBytes: 1000, now: clock.now });
  run(s, clock, [[1000, 1001]]); // 1001 B/s
  assert.equal(s.regime, 'pass');
  run(s, clock, [[1100, 1001]]); // 10010 B/s
  assert.equal(s.regime, 'drop');
  // Time rule at 1100 + 200 ms: 1000 B in 200 ms = 5000 B/s, not above hwm → pass.
  assert.deepEqual(
    run(s, clock, [
      [1250, 1000],
      [1300, 0],
      [1301, 1],
    ]),
    ['drop', 'drop', 'pass'],
  );
});

test('hwm = 0 never drops, however high the rate', () => {
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 1000, hwmBps: 0, windowBytes: 1000, now: clock.now });
  const verdicts = run(
    s,
    clock,
    Array.from({ length: 100 }, (_, i): [number, number] => [i, 10_000]),
  );
  assert.equal(verdicts[0], 'pass');
  assert.ok(verdicts.slice(1).every((v) => v === 'compress'));
  assert.equal(s.stats().dropPkts, 0);
  assert.equal(s.stats().windows, 100);
});

test('both watermarks 0 disable the shaper: always pass, no windows, no clock reads', () => {
  let reads = 0;
  const s = new RateShaper({ lwmBps: 0, hwmBps: 0, now: () => reads++ });
  const readsAtStart = reads;
  for (let i = 0; i < 1000; i++) assert.equal(s.verdict(1 << 20), 'pass');
  assert.equal(s.enabled, false);
  assert.equal(s.windowBytes, 0);
  assert.equal(reads, readsAtStart);
  assert.deepEqual(s.stats(), {
    passPkts: 1000,
    passBytes: 1000 << 20,
    compressPkts: 0,
    compressBytes: 0,
    dropPkts: 0,
    dropBytes: 0,
    windows: 0,
    lastRateBps: 0,
  });
});

test('the default window is max(2·hwm, 4·lwm) bytes, as in the Python tool', () => {
  assert.equal(new RateShaper({ lwmBps: MIB, hwmBps: 5 * MIB }).windowBytes, 10 * MIB);
  assert.equal(new RateShaper({ lwmBps: 3 * MIB, hwmBps: 5 * MIB }).windowBytes, 12 * MIB);
  assert.equal(new RateShaper({ lwmBps: 3 * MIB, hwmBps: 0 }).windowBytes, 12 * MIB);
  assert.equal(defaultWindowBytes(0, 0), 0);
});

test('bad options throw coded RangeErrors: hwm < lwm, negative or non-finite rates, non-positive window', () => {
  const bad: Array<[RateShaperOptions, CompressErrorCode]> = [
    [{ lwmBps: 2, hwmBps: 1 }, 'ERR_SHAPER_BAD_WATERMARK'],
    [{ lwmBps: -1, hwmBps: 0 }, 'ERR_SHAPER_BAD_WATERMARK'],
    [{ lwmBps: 0, hwmBps: Number.NaN }, 'ERR_SHAPER_BAD_WATERMARK'],
    [{ lwmBps: 1, hwmBps: Infinity }, 'ERR_SHAPER_BAD_WATERMARK'],
    [{ lwmBps: 1, hwmBps: 2, windowBytes: 0 }, 'ERR_SHAPER_BAD_WINDOW'],
    [{ lwmBps: 1, hwmBps: 2, windowBytes: -5 }, 'ERR_SHAPER_BAD_WINDOW'],
    [{ lwmBps: 1, hwmBps: 2, windowBytes: Infinity }, 'ERR_SHAPER_BAD_WINDOW'],
  ];
  for (const [o, code] of bad) {
    assert.throws(
      () => new RateShaper(o),
      (err: unknown) =>
        err instanceof RangeError && err instanceof ShaperRangeError && err.code === code,
      JSON.stringify(o),
    );
    assert.ok(COMPRESS_ERROR_CODES.includes(code));
  }
  // Equal watermarks are allowed (Python: error only when lwm > hwm); so is hwm < lwm with one 0.
  assert.doesNotThrow(() => new RateShaper({ lwmBps: 5, hwmBps: 5 }));
  assert.doesNotThrow(() => new RateShaper({ lwmBps: 5, hwmBps: 0 }));
});

/** The regime README "Rate control" prescribes after a window measured at `rateBps`. */
function documentedNextRegime(rateBps: number, lwmBps: number, hwmBps: number): ShaperVerdict {
  if (hwmBps > 0 && rateBps > hwmBps) return 'drop';
  if (lwmBps > 0 && rateBps > lwmBps) return 'compress';
  return 'pass';
}

test('property: every verdict follows the documented policy (README "Rate control"), observed on the real shaper', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 3000 })), {
        maxLength: 300,
      }),
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })),
      fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 })),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 0, max: 10_000 }),
      (steps, lwm, hwmExtra, windowBytes, startMs) => {
        const clock = new FakeClock();
        clock.nowMs = startMs;
        const hwm = hwmExtra === 0 ? 0 : lwm + hwmExtra;
        const changes: Array<[ShaperVerdict, number, ShaperVerdict]> = [];
        const s = new RateShaper({
          lwmBps: lwm,
          hwmBps: hwm,
          windowBytes,
          now: clock.now,
          onRegimeChange: (r, rate, prev) => changes.push([r, rate, prev]),
        });
        // What the test observes of the open window: when it opened and what was offered since.
        let openedMs = startMs;
        let offered = 0;
        for (const [dt, bytes] of steps) {
          clock.advance(dt);
          const before = s.regime;
          const windowsBefore = s.windows;
          const changesBefore = changes.length;
          // Each message gets the current regime; its own bytes can only change the next one's.
          assert.equal(s.verdict(bytes), before);
          // Bytes count in every regime, dropped ones too: the offered load is what is measured.
          offered += bytes;
          const closed = s.windows - windowsBefore;
          if (lwm === 0 && hwm === 0) {
            // Disabled: nothing is measured, everything passes.
            assert.deepEqual([closed, s.regime], [0, 'pass']);
            continue;
          }
          const elapsedMs = clock.nowMs - openedMs;
          // A window closes when its bytes exceed the window (strictly), or, in compress or
          // drop, once elapsed >= window / that regime's watermark (recovery in bounded time).
          const watermark = before === 'drop' ? hwm : before === 'compress' ? lwm : 0;
          const byBytes = offered > windowBytes;
          const byTime = watermark > 0 && elapsedMs >= (windowBytes * 1000) / watermark;
          assert.equal(closed, byBytes || byTime ? 1 : 0, `${offered} B in ${elapsedMs} ms`);
          if (closed === 0) {
            assert.equal(s.regime, before);
            assert.equal(changes.length, changesBefore);
            continue;
          }
          // rate = bytes / elapsed; no elapsed time is an infinite rate.
          const rate = elapsedMs > 0 ? (offered * 1000) / elapsedMs : Infinity;
          assert.equal(s.stats().lastRateBps, rate);
          assert.equal(s.regime, documentedNextRegime(rate, lwm, hwm));
          // A change of regime, and only a change, is reported with the rate that caused it.
          assert.deepEqual(
            changes.slice(changesBefore),
            s.regime === before ? [] : [[s.regime, rate, before]],
          );
          openedMs = clock.nowMs;
          offered = 0;
        }
      },
    ),
  );
});

test('property: counters add up to what was offered, and a steady load settles in one regime', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3000 })), {
        maxLength: 300,
      }),
      fc.integer({ min: 0, max: 4000 }),
      fc.integer({ min: 0, max: 8000 }),
      (steps, lwm, hwmExtra) => {
        const clock = new FakeClock();
        const hwm = hwmExtra === 0 ? 0 : lwm + hwmExtra;
        const s = new RateShaper({ lwmBps: lwm, hwmBps: hwm, windowBytes: 2000, now: clock.now });
        let bytes = 0;
        for (const [dt, b] of steps) {
          clock.advance(dt);
          s.verdict(b);
          bytes += b;
        }
        const st = s.stats();
        assert.equal(st.passPkts + st.compressPkts + st.dropPkts, steps.length);
        assert.equal(st.passBytes + st.compressBytes + st.dropBytes, bytes);
        if (lwm === 0) assert.equal(st.compressPkts, 0);
        if (hwm === 0) assert.equal(st.dropPkts, 0);
        if (lwm === 0 && hwm === 0) assert.equal(st.windows, 0);
      },
    ),
  );
  // Steady 3000 B/s (300 B every 100 ms) between lwm 1000 and hwm 5000: after the first window
  // every verdict is 'compress' (Python's flapping compress/pass windows do not happen).
  const clock = new FakeClock();
  const s = new RateShaper({ lwmBps: 1000, hwmBps: 5000, windowBytes: 1000, now: clock.now });
  const v: ShaperVerdict[] = [];
  for (let i = 0; i < 200; i++) {
    clock.advance(100);
    v.push(s.verdict(300));
  }
  assert.deepEqual(v.slice(0, 4), ['pass', 'pass', 'pass', 'pass']);
  assert.ok(v.slice(4).every((x) => x === 'compress'));
});
