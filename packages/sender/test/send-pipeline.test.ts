// SendPipeline over real ZeroMQ, wired as nflog-zmq-send wires it (SendPipeline.connect): exact frames and numbers (v1), heartbeats that reveal queue drops, exact legacy messages, shaper and queue drops that add up, in the stats and in the metrics.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pull } from 'zeromq';
import { RateShaper, decodeLegacyShaped, inflateFrame } from '@nflog-pipe/compress';
import {
  METRIC,
  statsdName,
  createLogger,
  createMetrics,
  decodeFrame,
  decodeFrameMeta,
  decodeLegacyPacket,
  type Metrics,
} from '@nflog-pipe/shared';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/testing';
import { SendPipeline, type SendStreamOptions } from '../src/index.js';
import { record, records } from './records-helper.js';

const quiet = createLogger({ name: 'test', level: 'silent' });

/** The options every pipeline here shares; tests override what they are about. */
type StreamOver = Partial<SendStreamOptions> & Pick<SendStreamOptions, 'endpoint' | 'metrics'>;

/** A pipeline connected by SendPipeline.connect, the sender's own wiring of pusher and metrics. */
function pipeline(over: StreamOver): SendPipeline {
  return SendPipeline.connect({
    sendHighWaterMark: 1000,
    lingerMs: 1000,
    logger: quiet,
    wire: 'v1',
    linktype: 101,
    batchBytes: 1 << 20,
    batchPackets: 1000,
    flushIntervalMs: 60_000,
    ...over,
  });
}

/** A PULL socket bound on a fresh ipc endpoint, and metrics for a pipeline pushing to it. */
async function setup(t: TestContext): Promise<{ pull: Pull; endpoint: string; metrics: Metrics }> {
  const dir = await makeTempDir(t);
  const endpoint = `ipc://${join(dir, 'pull.sock')}`;
  const pull = new Pull();
  t.after(() => pull.close());
  await pull.bind(endpoint);
  return { pull, endpoint, metrics: createMetrics(null, quiet) };
}

async function receive(pull: Pull, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const [msg] = await withTimeout(pull.receive(), TEST_TIMEOUT_MS, `message ${i + 1} of ${n}`);
    out.push(msg!);
  }
  return out;
}

test('v1: frames carry the records byte for byte, the sender id, contiguous numbers and metadata first', async (t) => {
  const { pull, endpoint, metrics } = await setup(t);
  const p = pipeline({
    endpoint,
    metrics,
    senderId: 0x0123456789abcdefn,
    batchPackets: 3,
    meta: () => ({ host: 'h', pid: 7 }),
    metaIntervalMs: 0,
  });
  const r1 = records([20, 30]);
  const r2 = records([40, 50, 60, 70]);
  p.pushRecords(r1, 2);
  p.pushRecords(r2, 4);
  await p.close();
  const msgs = (await receive(pull, 4)).map((m) => decodeFrame(m));
  // The stop heartbeat comes last: count 0, the next number, the final metadata.
  const hb = msgs.pop()!;
  assert.deepEqual(
    [hb.count, hb.firstSeq, hb.senderId, hb.recordsBytes],
    [0, 6n, 0x0123456789abcdefn, 0],
  );
  assert.deepEqual(decodeFrameMeta(hb.meta!), { host: 'h', pid: 7 });
  const frames = msgs;
  const all = Buffer.concat([r1, r2]);
  assert.deepEqual(Buffer.concat(frames.map((f) => f.records)), all);
  assert.deepEqual(
    frames.map((f) => [f.count, f.firstSeq, f.senderId, f.linktype, f.compressed]),
    [
      [2, 0n, 0x0123456789abcdefn, 101, false],
      [3, 2n, 0x0123456789abcdefn, 101, false],
      [1, 5n, 0x0123456789abcdefn, 101, false],
    ],
  );
  assert.deepEqual(decodeFrameMeta(frames[0]!.meta!), { host: 'h', pid: 7 });
  assert.equal(frames[1]!.meta, undefined);
  const st = p.stats();
  assert.deepEqual(
    [
      st.read,
      st.sent,
      st.droppedQueue,
      st.droppedShaper,
      st.sentMessages,
      st.heartbeats,
      st.nextSeq,
    ],
    [6, 6, 0, 0, 4, 1, 6n],
  );
  assert.equal(p.finalHeartbeatQueued, true);
  assert.equal(st.readBytes, 20 + 30 + 40 + 50 + 60 + 70);
  // The metrics count what ZeroMQ took, byte for byte: frames and the heartbeat as received.
  const snap = metrics.snapshot();
  assert.equal(snap[statsdName(METRIC.CAPTURED_PKT)], 6);
  assert.equal(snap[statsdName(METRIC.CAPTURED_BYTES)], st.readBytes);
  assert.equal(snap[statsdName(METRIC.SENT_PKT)], 6);
  assert.equal(
    snap[statsdName(METRIC.SENT_BYTES)],
    [...frames, hb].reduce((n, f) => n + 40 + (f.meta?.length ?? 0) + f.recordsBytes, 0),
  );
  assert.equal(snap[statsdName(METRIC.SENT_BYTES)], st.sentBytes);
  assert.equal(snap[statsdName(METRIC.LOSS_QUEUE_PKT)], 0); // exported from the start
});

test('v1: a full queue drops whole frames, their numbers are still consumed, read = sent + dropped', async () => {
  const metrics = createMetrics(null, quiet);
  // Nobody listens: the PUSH socket queues SNDHWM (2) frames and refuses the rest.
  // stopHeartbeatMs 0: one attempt at the stop heartbeat, which the full queue refuses.
  const p = pipeline({
    endpoint: 'ipc:///nonexistent-nfp-dir/x.sock',
    sendHighWaterMark: 2,
    lingerMs: 0,
    metrics,
    flushIntervalMs: 0,
    stopHeartbeatMs: 0,
  });
  for (let i = 0; i < 10; i++) p.pushRecords(records([20, 20, 20]), 3);
  await p.close();
  const st = p.stats();
  assert.deepEqual(
    [st.read, st.sent, st.droppedQueue, st.nextSeq, st.heartbeats],
    [30, 6, 24, 30n, 0],
  );
  assert.equal(p.finalHeartbeatQueued, false);
  // The refused frames are queue loss; the refused heartbeat (0 packets) adds nothing; the two
  // queued frames are raw_out (their bytes too).
  const snap = metrics.snapshot();
  assert.deepEqual(
    [
      snap[statsdName(METRIC.LOSS_QUEUE_PKT)],
      snap[statsdName(METRIC.SENT_PKT)],
      snap[statsdName(METRIC.SENT_BYTES)],
    ],
    [24, 6, st.sentBytes],
  );
  assert.equal(st.sentBytes, 2 * (40 + 3 * (16 + 20)));
});

/**
 * A pipeline whose first 2 frames fill the queue (SNDHWM 2) of a PUSH socket connected to an
 * ipc path nobody has bound yet, so the other 8 frames (24 packets) are dropped; `bind()` then
 * lets a PULL socket take the queue (ZeroMQ reconnects on its own).
 */
async function droppingPipeline(
  t: TestContext,
  over: Partial<SendStreamOptions>,
): Promise<{ p: SendPipeline; pull: Pull; bind: () => Promise<void> }> {
  const dir = await makeTempDir(t);
  const endpoint = `ipc://${join(dir, 'late.sock')}`;
  const metrics = createMetrics(null, quiet);
  const p = pipeline({
    endpoint,
    sendHighWaterMark: 2,
    metrics,
    flushIntervalMs: 0,
    senderId: 7n,
    ...over,
  });
  t.after(() => p.close());
  for (let i = 0; i < 10; i++) p.pushRecords(records([20, 20, 20]), 3);
  await p.settled();
  const st = p.stats();
  assert.deepEqual([st.read, st.sent, st.droppedQueue, st.nextSeq], [30, 6, 24, 30n]);
  const pull = new Pull();
  t.after(() => pull.close());
  return { p, pull, bind: () => pull.bind(endpoint) };
}

test('v1 stop: after queue drops in the last frames, the stop heartbeat waits for room and carries the next number, so the receiver sees the whole gap', async (t) => {
  // No periodic heartbeat: only the stop heartbeat can reveal the drops. It is retried while
  // the queue is full, for up to stopHeartbeatMs (generous here: the peer comes at once).
  const { p, pull, bind } = await droppingPipeline(t, {
    heartbeatIntervalMs: 0,
    stopHeartbeatMs: TEST_TIMEOUT_MS,
  });
  const closing = p.close(); // the queue is full now: the first attempts are refused
  await bind();
  await closing;
  const msgs = (await receive(pull, 3)).map((m) => decodeFrame(m));
  assert.deepEqual(
    msgs.map((f) => [f.senderId, f.firstSeq, f.count]),
    [
      [7n, 0n, 3],
      [7n, 3n, 3],
      [7n, 30n, 0], // 30 - 6 = 24 = the packets dropped at the queue
    ],
  );
  const st = p.stats();
  assert.deepEqual([st.sent, st.droppedQueue, st.heartbeats, st.sentMessages], [6, 24, 1, 3]);
  assert.equal(p.finalHeartbeatQueued, true);
});

test('v1 running: after queue drops, a heartbeat follows within heartbeatIntervalMs once the queue has room, without waiting for the stop', async (t) => {
  // A refused heartbeat is tried again at the next tick; so is the stop heartbeat, for up to
  // stopHeartbeatMs (a send right after another may find ZeroMQ not yet aware of the room).
  const { p, pull, bind } = await droppingPipeline(t, {
    heartbeatIntervalMs: 10,
    stopHeartbeatMs: TEST_TIMEOUT_MS,
  });
  await bind();
  const msgs = (await receive(pull, 3)).map((m) => decodeFrame(m));
  assert.deepEqual(
    msgs.map((f) => [f.firstSeq, f.count]),
    [
      [0n, 3],
      [3n, 3],
      [30n, 0],
    ],
  );
  // One accepted heartbeat settles the debt: no further drops, no further heartbeats.
  assert.equal(p.stats().heartbeats, 1);
  p.pushRecords(records([20]), 1); // delivered: nothing new to reveal
  await p.close();
  assert.deepEqual(
    [p.stats().heartbeats, p.stats().sentMessages, p.finalHeartbeatQueued],
    [2, 5, true],
  );
  const [last, stopHb] = (await receive(pull, 2)).map((m) => decodeFrame(m));
  assert.deepEqual(
    [last!.firstSeq, last!.count, stopHb!.firstSeq, stopHb!.count],
    [30n, 1, 31n, 0],
  );
});

test('v1: a pipeline that numbered no packet sends no heartbeat at close (nothing to account for, nothing left to linger)', async (t) => {
  const { endpoint, metrics } = await setup(t);
  const p = pipeline({ endpoint, metrics });
  await p.close();
  assert.deepEqual(
    [p.stats().sentMessages, p.stats().heartbeats, p.finalHeartbeatQueued],
    [0, 0, undefined],
  );
});

test('v1 with rate control: compressed frames inflate to the same records; drops are counted per packet', async (t) => {
  const { pull, endpoint, metrics } = await setup(t);
  let nowMs = 0;
  // Window 1000 bytes, lwm 1 B/s, no hwm: the first window closes at once (rate Infinity) → compress.
  const shaper = new RateShaper({ lwmBps: 1, hwmBps: 0, windowBytes: 1000, now: () => nowMs });
  const p = pipeline({ endpoint, metrics, flushIntervalMs: 0, shaper });
  const compressible = records([600, 600]); // zero-filled payloads deflate well
  p.pushRecords(compressible, 2); // pass; 1272 bytes offered closes the window → compress
  nowMs = 1000;
  p.pushRecords(compressible, 2); // compress
  await p.close();
  const [m1, m2] = await receive(pull, 2);
  const f1 = decodeFrame(m1!);
  const f2 = decodeFrame(m2!);
  assert.equal(f1.compressed, false);
  assert.equal(f2.compressed, true);
  assert.ok(f2.recordsBytes < compressible.length);
  assert.deepEqual(decodeFrame(inflateFrame(m2!)).records, compressible);
  assert.equal(f2.firstSeq, 2n);

  const dropAll = new RateShaper({ lwmBps: 0, hwmBps: 1, windowBytes: 100, now: () => nowMs });
  const metrics2 = createMetrics(null, quiet);
  const p2 = pipeline({
    endpoint: 'ipc:///nonexistent-nfp-dir/y.sock',
    sendHighWaterMark: 100,
    lingerMs: 0,
    metrics: metrics2,
    flushIntervalMs: 0,
    shaper: dropAll,
  });
  p2.pushRecords(records([200]), 1); // pass, closes the window at rate Infinity → drop
  p2.pushRecords(records([1, 2, 3]), 3); // dropped
  await p2.close();
  const st = p2.stats();
  assert.deepEqual(
    [st.read, st.sent, st.droppedShaper, st.droppedQueue, st.nextSeq],
    [4, 1, 3, 0, 4n],
  );
  // The stop heartbeat (never shaped) enters the queue: it would show the receiver the 3 drops.
  assert.deepEqual([st.heartbeats, st.sentMessages], [1, 2]);
  assert.equal(metrics2.snapshot()[statsdName(METRIC.LOSS_SHAPER_PKT)], 3);
});

test('v1 with rate control: a frame the shaper drops takes no metadata, the next frame out carries it', async (t) => {
  const { pull, endpoint, metrics } = await setup(t);
  let nowMs = 0;
  // hwm 1 B/s, window 100 bytes: the first frame closes the window at an infinite rate → drop;
  // the time rule closes the next window once 100 s have passed.
  const shaper = new RateShaper({ lwmBps: 0, hwmBps: 1, windowBytes: 100, now: () => nowMs });
  const p = pipeline({
    endpoint,
    metrics,
    flushIntervalMs: 0,
    shaper,
    now: () => nowMs,
    meta: () => ({ at: nowMs }),
    metaIntervalMs: 60_000,
  });
  p.pushRecords(records([200]), 1); // pass, with metadata (due again from 60 s)
  nowMs = 70_000;
  p.pushRecords(records([20]), 1); // dropped while metadata is due: it must not take it
  nowMs = 300_000;
  p.pushRecords(records([20]), 1); // dropped; closes the window at 0.44 B/s → pass
  nowMs = 300_001;
  p.pushRecords(records([20]), 1); // passes, with the metadata that was due since 60 s
  await p.close();
  const msgs = (await receive(pull, 3)).map((m) => decodeFrame(m));
  assert.deepEqual(
    msgs.map((f) => [f.firstSeq, f.count, f.meta === undefined ? null : decodeFrameMeta(f.meta)]),
    [
      [0n, 1, { at: 0 }],
      [3n, 1, { at: 300_001 }],
      [4n, 0, { at: 300_001 }], // the stop heartbeat
    ],
  );
  assert.deepEqual(
    [p.stats().droppedShaper, metrics.snapshot()[statsdName(METRIC.LOSS_SHAPER_PKT)]],
    [2, 2],
  );
});

test('legacy: one XDR message per packet, with timestamps and original lengths', async (t) => {
  const { pull, endpoint, metrics } = await setup(t);
  const p = pipeline({ endpoint, metrics, wire: 'legacy' });
  const a = Buffer.from('45000014000000004011', 'hex');
  const b = Buffer.alloc(33, 0xab);
  p.pushRecords(
    Buffer.concat([record(1_700_000_001, 5, a, 1500), record(1_700_000_002, 999_999, b)]),
    2,
  );
  await p.close();
  const msgs = await receive(pull, 2);
  assert.deepEqual(decodeLegacyPacket(msgs[0]!), {
    tsSec: 1_700_000_001,
    tsUsec: 5,
    origLen: 1500,
    data: a,
  });
  assert.deepEqual(decodeLegacyPacket(msgs[1]!), {
    tsSec: 1_700_000_002,
    tsUsec: 999_999,
    origLen: 33,
    data: b,
  });
  // No heartbeats on the legacy wire: it has no sequence numbers.
  assert.deepEqual([p.stats().sent, p.stats().sentMessages, p.stats().heartbeats], [2, 2, 0]);
});

test('legacy with rate control: 0x00 messages, then a 0x01 zlib window, as the Python tool framed them', async (t) => {
  const { pull, endpoint, metrics } = await setup(t);
  let nowMs = 0;
  const shaper = new RateShaper({ lwmBps: 1, hwmBps: 0, windowBytes: 100, now: () => nowMs });
  const p = pipeline({ endpoint, metrics, wire: 'legacy', shaper });
  const pkts = [Buffer.alloc(120, 1), Buffer.alloc(10, 2), Buffer.alloc(10, 3)];
  // First packet: pass (and closes the window → compress); the other two go into a window.
  p.pushRecords(Buffer.concat(pkts.map((d, i) => record(1_700_000_000, i, d))), 3);
  nowMs = 10;
  await p.close();
  const msgs = await receive(pull, 2);
  assert.equal(msgs[0]![0], 0x00);
  assert.equal(msgs[1]![0], 0x01);
  const decoded = msgs.flatMap((m) => decodeLegacyShaped(m)).map((m) => decodeLegacyPacket(m).data);
  assert.deepEqual(decoded, pkts);
  assert.deepEqual([p.stats().read, p.stats().sent, p.stats().sentMessages], [3, 3, 2]);
});
