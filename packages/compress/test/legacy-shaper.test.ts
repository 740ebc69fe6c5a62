// Proves the legacy 0x00/0x01 framing: exact output per regime, timed flush, round trip, caps,
// and byte compatibility with genuine Python zlib in both directions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { readHexFixture, requirePrereqs, runCommand } from '@nflog-pipe/testing';
import {
  LegacyShaper,
  RateShaper,
  decodeLegacyShaped,
  type LegacyShaperOptions,
  type ShaperVerdict,
} from '../src/index.js';
import { FakeClock, textPayload } from './helpers.js';

interface Out {
  msg: Buffer;
  packets: number;
  atMs: number;
}

function setup(
  shaperOpts: { lwmBps: number; hwmBps: number; windowBytes?: number },
  extra: Partial<LegacyShaperOptions> = {},
): { clock: FakeClock; out: Out[]; ls: LegacyShaper; shaper: RateShaper } {
  const clock = new FakeClock();
  const out: Out[] = [];
  const shaper = new RateShaper({ ...shaperOpts, now: clock.now });
  const ls = new LegacyShaper({
    shaper,
    timers: clock,
    onMessage: (msg, packets) => out.push({ msg, packets, atMs: clock.nowMs }),
    ...extra,
  });
  return { clock, out, ls, shaper };
}

/** Builds a 0x01 window the way the Python tool does, from messages. */
function pyWindow(msgs: Buffer[]): Buffer {
  const raw = Buffer.concat(
    msgs.flatMap((m) => {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(m.length);
      return [l, m];
    }),
  );
  return Buffer.concat([Buffer.from([1]), deflateSync(raw)]);
}

test('pass emits 0x00 + message at once; compress windows go out as 0x01 + zlib when the rate is re-measured', () => {
  // lwm 1000, hwm 0, window 1000: 1200 B in 300 ms closes the first window at 4000 B/s → compress.
  const { clock, out, ls } = setup({ lwmBps: 1000, hwmBps: 0, windowBytes: 1000 });
  const m = [0, 1, 2, 3, 4, 5].map((i) => textPayload(i, 400));
  clock.nowMs = 100;
  ls.push(m[0]!);
  assert.deepEqual(out[0], {
    msg: Buffer.concat([Buffer.from([0]), m[0]!]),
    packets: 1,
    atMs: 100,
  });
  clock.nowMs = 200;
  ls.push(m[1]!);
  clock.nowMs = 300;
  assert.equal(ls.push(m[2]!), 'pass'); // closes the window
  clock.nowMs = 310;
  assert.equal(ls.push(m[3]!), 'compress');
  clock.nowMs = 320;
  assert.equal(ls.push(m[4]!), 'compress');
  assert.equal(out.length, 3);
  assert.deepEqual(ls.stats().pendingPkts, 2);
  assert.deepEqual(ls.stats().pendingBytes, 808);
  clock.nowMs = 330;
  ls.push(m[5]!); // 1200 B in 30 ms: the window closes, the pending compressed window goes out
  assert.equal(out.length, 4);
  assert.deepEqual(out[3]!.msg, pyWindow([m[3]!, m[4]!, m[5]!]));
  assert.equal(out[3]!.packets, 3);
  assert.deepEqual(decodeLegacyShaped(out[3]!.msg), [m[3], m[4], m[5]]);
  assert.equal(clock.pendingTimers, 0);
  assert.deepEqual(ls.stats(), {
    plainMsgs: 3,
    windowMsgs: 1,
    windowPkts: 3,
    outBytes: 3 * 401 + out[3]!.msg.length,
    dropPkts: 0,
    dropBytes: 0,
    pendingPkts: 0,
    pendingBytes: 0,
  });
});

test('a pending window is flushed flushMs after its first message, even if no traffic follows', () => {
  const { clock, out, ls } = setup({ lwmBps: 1, hwmBps: 0, windowBytes: 1000 }, { flushMs: 100 });
  ls.push(Buffer.alloc(1001)); // closes the first window with no elapsed time: infinite rate → compress
  clock.advance(10);
  ls.push(Buffer.from('cd'));
  clock.advance(50);
  ls.push(Buffer.from('ef'));
  clock.advance(49);
  assert.equal(out.length, 1);
  clock.advance(1); // 110 ms: 100 ms after 'cd' opened the window
  assert.equal(out.length, 2);
  assert.equal(out[1]!.atMs, 110);
  assert.deepEqual(decodeLegacyShaped(out[1]!.msg), [Buffer.from('cd'), Buffer.from('ef')]);
  assert.equal(clock.pendingTimers, 0);
});

test('a window is sent at once when it reaches maxPendingBytes', () => {
  // With a large measurement window only maxPendingBytes (or the timer) sends it.
  const big = setup({ lwmBps: 1, hwmBps: 0, windowBytes: 1000 }, { maxPendingBytes: 100 });
  big.ls.push(Buffer.alloc(1001)); // closes the first window instantly → compress
  assert.equal(big.out.length, 1);
  big.ls.push(Buffer.alloc(40)); // 44 pending
  big.ls.push(Buffer.alloc(40)); // 88 pending
  assert.equal(big.out.length, 1);
  big.ls.push(Buffer.alloc(8)); // 100 pending: sent
  assert.equal(big.out.length, 2);
  assert.equal(big.out[1]!.packets, 3);
  assert.deepEqual(decodeLegacyShaped(big.out[1]!.msg), [
    Buffer.alloc(40),
    Buffer.alloc(40),
    Buffer.alloc(8),
  ]);
});

test('above hwm nothing goes out and drops are counted; a pending window is sent before dropping', () => {
  const { clock, out, ls } = setup({ lwmBps: 1000, hwmBps: 5000, windowBytes: 1000 });
  clock.nowMs = 500;
  ls.push(Buffer.alloc(1001)); // 2002 B/s → compress
  clock.nowMs = 510;
  ls.push(Buffer.alloc(600, 1));
  clock.nowMs = 520;
  ls.push(Buffer.alloc(600, 2)); // 1200 B in 20 ms → drop; the window goes out now
  assert.equal(out.length, 2);
  assert.deepEqual(decodeLegacyShaped(out[1]!.msg), [Buffer.alloc(600, 1), Buffer.alloc(600, 2)]);
  clock.nowMs = 530;
  assert.equal(ls.push(Buffer.alloc(10)), 'drop');
  assert.equal(out.length, 2);
  assert.equal(ls.stats().dropPkts, 1);
  assert.equal(ls.stats().dropBytes, 10);
});

test('close() flushes and later pushes throw ERR_SHAPER_CLOSED; close twice is safe', () => {
  const { out, ls, clock } = setup({ lwmBps: 1, hwmBps: 0, windowBytes: 1000 });
  ls.push(Buffer.alloc(1001));
  ls.push(Buffer.from('x'));
  ls.push(Buffer.from('y'));
  ls.close();
  ls.close();
  assert.equal(clock.pendingTimers, 0);
  assert.equal(out.length, 2);
  assert.deepEqual(decodeLegacyShaped(out[1]!.msg), [Buffer.from('x'), Buffer.from('y')]);
  assert.throws(() => ls.push(Buffer.from('z')), { code: 'ERR_SHAPER_CLOSED' });
});

test('decodeLegacyShaped: every malformed input class has its code; inflation is capped', () => {
  const bomb = Buffer.concat([Buffer.from([1]), deflateSync(Buffer.alloc(20 * 1024 * 1024))]);
  const lenOnly = Buffer.alloc(4);
  lenOnly.writeUInt32BE(10);
  const cases: Array<[string, Buffer, string, number?]> = [
    ['empty', Buffer.alloc(0), 'ERR_WIRE_SHORT_HEADER'],
    ['unknown first byte', Buffer.from([2, 0, 0]), 'ERR_WIRE_BAD_MAGIC'],
    ['corrupt zlib', Buffer.from([1, 0x78, 0x9c, 0xff, 0xff]), 'ERR_WIRE_INFLATE'],
    ['raw deflate instead of zlib', Buffer.from([1, 0x63, 0x60, 0x00, 0x00]), 'ERR_WIRE_INFLATE'],
    [
      'bytes after the zlib stream',
      Buffer.concat([pyWindow([Buffer.from('a')]), Buffer.from([0])]),
      'ERR_WIRE_LENGTH_MISMATCH',
    ],
    ['zip bomb', bomb, 'ERR_WIRE_OVERSIZE', 1024 * 1024],
    [
      'partial length prefix',
      Buffer.concat([Buffer.from([1]), deflateSync(Buffer.from([0, 0]))]),
      'ERR_WIRE_TRUNCATED_RECORD',
    ],
    [
      'message past the end',
      Buffer.concat([Buffer.from([1]), deflateSync(Buffer.concat([lenOnly, Buffer.alloc(9)]))]),
      'ERR_WIRE_TRUNCATED_RECORD',
    ],
  ];
  for (const [what, msg, code, cap] of cases) {
    assert.throws(
      () => decodeLegacyShaped(msg, cap === undefined ? {} : { maxInflatedBytes: cap }),
      { code },
      what,
    );
  }
  assert.deepEqual(decodeLegacyShaped(Buffer.from([0])), [Buffer.alloc(0)]);
  assert.deepEqual(decodeLegacyShaped(pyWindow([])), []);
});

test('a window written by genuine Python zlib.compressobj decodes to the exact messages', () => {
  const fx = readHexFixture(
    new URL('../../test/fixtures/legacy-python-window.hex', import.meta.url),
  );
  const msgs = Array.from({ length: 12 }, (_, i) => fx.get(`msg-${i}`)!);
  assert.ok(msgs.every((m) => m !== undefined && m.length > 0));
  assert.deepEqual(decodeLegacyShaped(fx.get('window')!), msgs);
});

test('our windows decode with Python zlib.decompress, as the Python receiver does', async (t) => {
  if (!requirePrereqs(t, { tools: ['python3'] })) return;
  const { out, ls } = setup({ lwmBps: 1, hwmBps: 0, windowBytes: 100_000 });
  const msgs = [
    Buffer.alloc(100_001),
    ...Array.from({ length: 30 }, (_, i) => textPayload(i, 10 + i * 17)),
  ];
  for (const m of msgs) ls.push(m);
  ls.close();
  // The first message closed the first window instantly (pass); the rest went into one window.
  assert.equal(out.length, 2);
  assert.equal(out[1]!.msg[0], 1);
  const py = [
    'import sys, zlib, struct',
    'pkt = sys.stdin.buffer.read()',
    'assert pkt[0:1] == b"\\x01"',
    'body = zlib.decompress(pkt[1:])',
    'pos = 0',
    'while pos != len(body):',
    '    n, = struct.unpack("!I", body[pos:pos+4]); pos += 4',
    '    print(body[pos:pos+n].hex()); pos += n',
  ].join('\n');
  // runCommand rejects (with python's stderr) unless it exits 0.
  const { stdout } = await runCommand('python3', ['-c', py], { input: out[1]!.msg });
  assert.deepEqual(
    stdout.trim().split('\n'),
    msgs.slice(1).map((m) => m.toString('hex')),
  );
});

test('property: legacy output decodes to the input minus drops, in order; nothing waits past flushMs', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 2000 }), fc.boolean()),
        {
          maxLength: 150,
        },
      ),
      fc.constantFrom([1000, 5000], [1000, 0], [0, 5000], [0, 0], [1, 1]),
      (steps, [lwm, hwm]) => {
        const { clock, out, ls } = setup(
          { lwmBps: lwm, hwmBps: hwm, windowBytes: 2500 },
          { flushMs: 100 },
        );
        const kept: Buffer[] = [];
        const verdicts: ShaperVerdict[] = [];
        steps.forEach(([dt, size, text], i) => {
          clock.advance(dt);
          const m = text ? textPayload(i, size) : Buffer.alloc(size, i & 0xff);
          const v = ls.push(m);
          verdicts.push(v);
          if (v !== 'drop') kept.push(m);
        });
        clock.advance(100);
        assert.equal(ls.stats().pendingPkts, 0);
        const got = out.flatMap((o) => {
          const d = decodeLegacyShaped(o.msg);
          assert.equal(d.length, o.packets);
          return d;
        });
        assert.deepEqual(got, kept);
        const st = ls.stats();
        assert.equal(st.plainMsgs + st.windowPkts + st.dropPkts, steps.length);
        assert.equal(
          st.outBytes,
          out.reduce((a, o) => a + o.msg.length, 0),
        );
      },
    ),
  );
});
