// Proves the reorder window with an injected clock: time order across streams, exact NFULA_SEQ_GLOBAL order within a namespace (early release when nothing can precede, the time bound otherwise, wraps at 2^32), late and overflow records written and counted, the single-sender fast path, and for random fleets every record exactly once with non-decreasing timestamps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { FrameOrder } from '@nflog-pipe/shared';
import { ReorderWindow, type ReorderWindowOptions } from '../src/index.js';

const W = 100;

/** One test record: its timestamp (µs since 0) and an identity carried in its 8 data bytes. */
interface Rec {
  us: number;
  id: number;
}

/** Whole pcap records of `recs`: 16-byte header, then 8 bytes: the id twice. */
function records(recs: readonly Rec[]): Buffer {
  const out = Buffer.alloc(recs.length * 24);
  recs.forEach((r, i) => {
    const o = i * 24;
    out.writeUInt32LE(Math.floor(r.us / 1e6), o);
    out.writeUInt32LE(r.us % 1e6, o + 4);
    out.writeUInt32LE(8, o + 8);
    out.writeUInt32LE(8, o + 12);
    out.writeUInt32LE(r.id, o + 16);
    out.writeUInt32LE(r.id, o + 20);
  });
  return out;
}

/** The kernel-order section of a frame of namespace `ns` (one byte of identity) with `seqs`. */
function order(ns: number, seqs: readonly number[], delayBoundMs = 50): FrameOrder {
  const seqGlobal = Buffer.alloc(seqs.length * 4);
  seqs.forEach((s, i) => seqGlobal.writeUInt32LE(s >>> 0, i * 4));
  return { namespaceId: Buffer.alloc(24, ns), delayBoundMs, seqGlobal };
}

/**
 * Pushes one batch of `sender` into `w`: a record per [µs, id]; with `ns`, in that namespace,
 * numbered `seqs` (default: the ids).
 */
function send(
  w: ReorderWindow,
  sender: bigint,
  recs: readonly [number, number][],
  ns?: number,
  seqs?: readonly number[],
): void {
  const list = recs.map(([us, id]) => ({ us, id }));
  const o = ns === undefined ? undefined : order(ns, seqs ?? list.map((r) => r.id));
  w.push(records(list), list.length, sender, o);
}

/** What came out: records read back in output order, and each batch as handed on. */
interface Out {
  recs: Rec[];
  batches: Buffer[];
}

function readOut(out: Out, buf: Buffer, count: number): void {
  out.batches.push(buf);
  for (let i = 0; i < count; i++) {
    const o = i * 24;
    out.recs.push({
      us: buf.readUInt32LE(o) * 1e6 + buf.readUInt32LE(o + 4),
      id: buf.readUInt32LE(o + 16),
    });
  }
  assert.equal(buf.length, count * 24);
}

/** A window on a fake clock: `advance(ms)` moves the clock and runs the timers that are due. */
function harness(over: Partial<ReorderWindowOptions> = {}): {
  w: ReorderWindow;
  out: Out;
  advance: (ms: number) => void;
  peers: { n: number };
} {
  let now = 1000;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const out: Out = { recs: [], batches: [] };
  const peers = { n: 1 };
  const w = new ReorderWindow({
    windowMs: W,
    bufferBytes: 1 << 20,
    onRelease: (buf, count) => readOut(out, buf, count),
    peers: () => peers.n,
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => (t.live = false);
    },
    ...over,
  });
  const advance = (ms: number): void => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      now = Math.max(now, due.at);
      due.live = false;
      due.fn();
    }
    now = until;
  };
  return { w, out, advance, peers };
}

const ids = (recs: readonly Rec[]): number[] => recs.map((r) => r.id);

function nonDecreasing(recs: readonly Rec[]): void {
  for (let i = 1; i < recs.length; i++)
    assert.ok(recs[i]!.us >= recs[i - 1]!.us, `timestamp steps back at ${i}`);
}

test('streams without numbers: held for the window, then written in time order', () => {
  const { w, out, advance } = harness();
  const a = [
    { us: 10_000, id: 1 },
    { us: 30_000, id: 3 },
    { us: 50_000, id: 5 },
  ];
  const b = [
    { us: 20_000, id: 2 },
    { us: 40_000, id: 4 },
  ];
  w.push(records(a), a.length, 1n);
  advance(60);
  assert.equal(out.recs.length, 0, 'nothing before the window has passed');
  w.push(records(b), b.length, 2n);
  assert.equal(w.stats().heldPackets, 5);
  advance(40); // the first batch's 100 ms: it goes, and everything that sorts before its last
  assert.deepEqual(ids(out.recs), [1, 2, 3, 4, 5]);
  assert.deepEqual(
    out.recs.map((r) => r.us),
    [10_000, 20_000, 30_000, 40_000, 50_000],
    'timestamps as they came',
  );
  assert.deepEqual(w.stats(), {
    heldPackets: 0,
    heldBytes: 0,
    latePackets: 0,
    restampedPackets: 0,
    overflowPackets: 0,
  });
  assert.equal(out.batches.length, 1, 'one batch out');
});

test('one namespace, two senders: exact NFULA_SEQ_GLOBAL order, released as soon as nothing can precede', () => {
  const { w, out, advance, peers } = harness();
  peers.n = 2;
  // Sender 1 stamps later than sender 2 reads: kernel order and timestamps disagree.
  send(
    w,
    1n,
    [
      [5_000, 1],
      [5_000, 3],
      [9_000, 5],
    ],
    7,
  );
  assert.equal(out.recs.length, 0, 'number 2 may still come from the other sender');
  send(
    w,
    2n,
    [
      [4_000, 2],
      [8_000, 4],
      [8_500, 6],
    ],
    7,
  );
  // No clock advance: both senders are past every number held.
  assert.deepEqual(ids(out.recs), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(
    out.recs.map((r) => r.us),
    [5_000, 5_000, 5_000, 8_000, 9_000, 9_000],
    'raised to the last written where kernel order steps back in time',
  );
  assert.equal(w.stats().restampedPackets, 2);
  assert.equal(w.stats().latePackets, 0);

  // 7 is the next number: out at once. 9 follows a gap the other sender may fill: held.
  send(
    w,
    1n,
    [
      [10_000, 7],
      [11_000, 9],
    ],
    7,
  );
  assert.deepEqual(ids(out.recs).slice(6), [7]);
  send(w, 2n, [[10_500, 8]], 7);
  assert.deepEqual(ids(out.recs).slice(6), [7, 8, 9], 'the gap filled: in order');

  // A gap nobody fills (a number the kernel dropped): the time bound lets it go.
  send(w, 1n, [[12_000, 11]], 7);
  advance(W - 1);
  assert.equal(out.recs.length, 9);
  advance(1);
  assert.deepEqual(ids(out.recs).slice(9), [11]);
  nonDecreasing(out.recs);
});

test('NFULA_SEQ_GLOBAL wraps at 2^32 and stays in order', () => {
  const { w, out, peers } = harness();
  peers.n = 2;
  const top = 0xffffffff;
  send(
    w,
    1n,
    [
      [1, 1],
      [3, 3],
    ],
    3,
    [top - 1, 0],
  );
  send(
    w,
    2n,
    [
      [2, 2],
      [4, 4],
    ],
    3,
    [top, 1],
  );
  assert.deepEqual(ids(out.recs), [1, 2, 3, 4]);
});

test('namespaces and time streams together: merged by timestamp, each namespace by number', () => {
  const { w, out, advance, peers } = harness();
  peers.n = 3;
  send(
    w,
    1n,
    [
      [100, 1],
      [300, 3],
    ],
    1,
    [40, 41],
  );
  send(
    w,
    2n,
    [
      [200, 2],
      [400, 4],
    ],
    2,
    [900, 901],
  );
  send(w, 3n, [[250, 25]]); // no numbers: only the time bound releases
  assert.equal(out.recs.length, 0);
  advance(W);
  assert.deepEqual(ids(out.recs), [1, 2, 25, 3, 4]);
  assert.equal(w.stats().latePackets, 0);
});

test('a late record is still written, stamped with the last timestamp written, and counted', () => {
  const { w, out, advance } = harness();
  send(w, 1n, [[2_000_000, 1]]);
  advance(W);
  assert.deepEqual(ids(out.recs), [1]);
  // Older than what is already out: it missed its place.
  send(w, 2n, [[1_000_000, 2]]);
  advance(W);
  assert.deepEqual(out.recs, [
    { us: 2_000_000, id: 1 },
    { us: 2_000_000, id: 2 },
  ]);
  assert.equal(w.stats().latePackets, 1);
  assert.equal(w.stats().restampedPackets, 0);
});

test('a number behind its namespace is late too', () => {
  const { w, out } = harness();
  send(w, 1n, [[50, 5]], 1);
  send(w, 1n, [[60, 4]], 1);
  assert.deepEqual(ids(out.recs), [5, 4]);
  assert.equal(w.stats().latePackets, 1);
});

test('full: the first records in order are released early, counted, still in order', () => {
  // Room for two batches of two 24-byte records: 48 bytes each, 2 x 48 of index.
  const { w, out, advance } = harness({ bufferBytes: 300 });
  const push = (us: number, id: number): void =>
    send(w, BigInt(id), [
      [us, id],
      [us + 1, id + 1],
    ]);
  push(300, 30);
  push(100, 10);
  assert.equal(out.recs.length, 0);
  push(200, 20);
  assert.deepEqual(ids(out.recs), [10, 11], 'the first batch in order made room');
  assert.equal(w.stats().overflowPackets, 2);
  assert.equal(w.stats().heldBytes, 96);
  advance(W);
  assert.deepEqual(ids(out.recs), [10, 11, 20, 21, 30, 31]);
  assert.equal(w.stats().latePackets, 0);
});

test('fast path: one sender alone, in order, nothing held: the same buffer at once, step-backs raised in place', () => {
  const { w, out } = harness();
  const buf = records([
    { us: 10, id: 1 },
    { us: 30, id: 2 },
    { us: 20, id: 3 },
  ]);
  w.push(buf, 3, 1n, order(1, [1, 2, 3]));
  assert.equal(out.batches[0], buf, 'not copied');
  assert.deepEqual(
    out.recs.map((r) => r.us),
    [10, 30, 30],
  );
  assert.equal(w.stats().restampedPackets, 1);
  // A second peer connects: from now on its records could precede, so they are held.
  const h = harness();
  h.peers.n = 2;
  send(h.w, 1n, [[1, 1]], 1);
  assert.equal(h.out.recs.length, 0);
});

test('a view, not a copy, when what is released is one piece of one batch', () => {
  const { w, out, advance } = harness();
  const buf = records([
    { us: 1, id: 1 },
    { us: 2, id: 2 },
  ]);
  w.push(buf, 2, 1n);
  advance(W);
  assert.equal(out.batches[0]!.buffer, buf.buffer);
  assert.equal(out.batches[0]!.byteOffset, buf.byteOffset);
});

test('close() writes everything held, in order; later batches pass as they come', () => {
  const { w, out } = harness();
  send(w, 1n, [[9, 9]]);
  send(w, 2n, [[3, 3]]);
  w.close();
  assert.deepEqual(ids(out.recs), [3, 9]);
  w.close();
  send(w, 1n, [[1, 1]]);
  assert.deepEqual(ids(out.recs), [3, 9, 1]);
});

test('options: a window or a budget of 0 is refused', () => {
  const onRelease = (): void => {};
  assert.throws(() => new ReorderWindow({ windowMs: 0, bufferBytes: 1, onRelease }), RangeError);
  assert.throws(() => new ReorderWindow({ windowMs: 1, bufferBytes: 0, onRelease }), RangeError);
});

/** A random fleet: senders in namespaces (or without numbers), each sending its records in order in batches that arrive with a delay below the window. */
const fleet = fc.record({
  senders: fc.array(
    fc.record({
      ns: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      delayMs: fc.integer({ min: 0, max: W - 1 }),
      batches: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  seqBase: fc.constantFrom(0, 0xfffffff0),
  tiny: fc.boolean(),
});

test('property: every record exactly once, timestamps never decrease; with arrivals inside the window nothing is late and each namespace comes out in number order', () => {
  fc.assert(
    fc.property(fleet, ({ senders, seqBase, tiny }) => {
      // The kernel's clock: one record per ms, numbered per namespace in logging order.
      const seqOf = new Map<number, number>();
      let clock = 0;
      let id = 0;
      interface Arrival {
        atMs: number;
        sender: number;
        recs: Rec[];
        seqs: number[] | undefined;
        ns: number | undefined;
      }
      const arrivals: Arrival[] = [];
      const maxBatches = Math.max(...senders.map((s) => s.batches.length));
      for (let k = 0; k < maxBatches; k++) {
        for (const [si, s] of senders.entries()) {
          const n = s.batches[k];
          if (n === undefined) continue;
          const recs: Rec[] = [];
          const seqs: number[] = [];
          for (let i = 0; i < n; i++) {
            clock++;
            recs.push({ us: clock * 1000, id: id++ });
            if (s.ns !== undefined) {
              const q = (seqOf.get(s.ns) ?? seqBase) + 1;
              seqOf.set(s.ns, q);
              seqs.push(q);
            }
          }
          arrivals.push({
            atMs: clock + s.delayMs,
            sender: si,
            recs,
            seqs: s.ns !== undefined ? seqs : undefined,
            ns: s.ns,
          });
        }
      }
      arrivals.sort((a, b) => a.atMs - b.atMs);
      const h = harness({ bufferBytes: tiny ? 200 : 1 << 20 });
      h.peers.n = senders.length;
      let at = 0;
      for (const a of arrivals) {
        h.advance(a.atMs - at);
        at = a.atMs;
        const o = a.seqs !== undefined ? order(a.ns!, a.seqs) : undefined;
        h.w.push(records(a.recs), a.recs.length, BigInt(a.sender), o);
      }
      h.w.close();
      const got = h.out.recs;
      assert.deepEqual(
        [...ids(got)].sort((x, y) => x - y),
        Array.from({ length: id }, (_, i) => i),
      );
      nonDecreasing(got);
      const s = h.w.stats();
      assert.equal(s.heldPackets, 0);
      assert.equal(s.heldBytes, 0);
      if (!tiny) {
        assert.equal(s.latePackets, 0);
        assert.equal(s.overflowPackets, 0);
        // Logged in id order (one clock): the output is exactly that order, timestamps as logged.
        assert.deepEqual(
          ids(got),
          Array.from({ length: id }, (_, i) => i),
        );
        assert.equal(s.restampedPackets, 0);
      }
    }),
    { numRuns: 300 },
  );
});
