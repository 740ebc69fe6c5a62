// Proves the real relay CLIs over real ZeroMQ: compress → decompress is byte-identical (v1 and
// legacy), the compressed leg is smaller, bad input is counted while good frames still flow,
// SIGTERM exits 0 with exact counters, and usage errors exit 2 with one line.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { Pull, Push } from 'zeromq';
import {
  WIRE_FLAG_COMPRESSED,
  encodeFrame,
  encodeLegacyPacket,
  isV1Frame,
} from '@nflog-pipe/shared';
import {
  StatsdListener,
  TEST_TIMEOUT_MS,
  binPath,
  collectMessages,
  type MessageCollector,
  spawnChild,
  withTimeout,
  type ChildHandle,
  runTool,
} from '@nflog-pipe/testing';
import { compressFrame, decodeLegacyShaped } from '../src/index.js';
import { makeFrame, textPayload } from './helpers.js';

/** A test-owned PULL socket bound to an ephemeral port, collecting messages. */
async function sink(t: TestContext): Promise<{ endpoint: string } & MessageCollector> {
  const pull = new Pull({ linger: 0 });
  await pull.bind('tcp://127.0.0.1:*');
  const got = collectMessages(pull);
  t.after(async () => {
    pull.close();
    await got.done;
  });
  return { endpoint: pull.lastEndpoint!, ...got };
}

function source(t: TestContext, endpoint: string): Push {
  const push = new Push({ linger: 0, sendHighWaterMark: 100_000 });
  push.connect(endpoint);
  t.after(() => push.close());
  return push;
}

/** Spawns a relay CLI and waits until it has bound SRC; returns the child and the bound endpoint. */
async function relay(
  t: TestContext,
  tool: 'nflog-zmq-compress' | 'nflog-zmq-decompress',
  args: string[],
): Promise<[ChildHandle, string]> {
  const child = spawnChild(process.execPath, [binPath(tool), ...args]);
  t.after(async () => {
    child.kill('SIGKILL');
    await child.exited;
  });
  const m = await child.waitForStderr(/relaying .*src=(\S+)/);
  return [child, m[1]!];
}

/** SIGTERM, exit 0, and the counters of the final `stopped` line. */
async function stop(child: ChildHandle): Promise<Record<string, number>> {
  child.kill('SIGTERM');
  const { code, signal } = await withTimeout(child.exited, TEST_TIMEOUT_MS, 'relay exit');
  assert.equal(signal, null, child.stderr());
  assert.equal(code, 0, child.stderr());
  const line = child
    .stderr()
    .split('\n')
    .find((l) => / stopped /.test(l));
  assert.ok(line, child.stderr());
  return Object.fromEntries(
    [...line.matchAll(/ ([a-z_.]+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]),
  );
}

/** compress relay → test PULL (measures the compressed leg) → test PUSH → decompress relay → sink. */
async function chain(t: TestContext, compressArgs: string[]) {
  const out = await sink(t);
  const [decomp, decompSrc] = await relay(t, 'nflog-zmq-decompress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--zmq-buffer',
    '10000',
  ]);
  const mid = await sink(t);
  const forward = source(t, decompSrc);
  const [comp, compSrc] = await relay(t, 'nflog-zmq-compress', [
    'tcp://127.0.0.1:*',
    mid.endpoint,
    '--zmq-buffer',
    '10000',
    ...compressArgs,
  ]);
  const input = source(t, compSrc);
  return { out, decomp, mid, forward, comp, input };
}

// lwm 1 B/s, no hwm, a 1-byte measurement window: the first message is passed (it closes the
// first window), everything after it is compressed.
const ALWAYS_COMPRESS = ['--lwm', '0.000001', '--hwm', '0', '--wm-interval', '0.000001'];

test('v1: compress relay → decompress relay is byte-identical, and the compressed leg is smaller', async (t) => {
  const { out, decomp, mid, forward, comp, input } = await chain(t, ALWAYS_COMPRESS);
  const frames = Array.from({ length: 60 }, (_, i) =>
    makeFrame(
      Array.from({ length: 10 }, (_, k) => textPayload(i * 10 + k, 200 + k * 30)),
      BigInt(i * 10),
    ),
  );
  for (const f of frames) await input.send(f);
  await mid.waitCount(frames.length);
  for (const m of mid.msgs) await forward.send(m);
  await out.waitCount(frames.length);
  assert.deepEqual(out.msgs, frames);
  const inBytes = frames.reduce((a, f) => a + f.length, 0);
  const legBytes = mid.msgs.reduce((a, f) => a + f.length, 0);
  assert.equal(
    mid.msgs.filter((m) => (m[5]! & WIRE_FLAG_COMPRESSED) !== 0).length,
    frames.length - 1,
  );
  assert.ok(legBytes < inBytes, `${legBytes} >= ${inBytes}`);
  t.diagnostic(
    `compressed leg ${legBytes} B / input ${inBytes} B = ${(legBytes / inBytes).toFixed(3)}`,
  );
  const c = await stop(comp);
  assert.equal(c['compress_in.pkt'], 600);
  assert.equal(c['compress_in.bytes'], inBytes);
  assert.equal(c['compress_out.pkt'], 600);
  assert.equal(c['compress_out.bytes'], legBytes);
  assert.equal(c['loss.shaper.pkt'], 0);
  assert.equal(c['loss.zmq_queue.pkt'], 0);
  assert.equal(c['bad_frames'], 0);
  const d = await stop(decomp);
  assert.equal(d['decompress_in.pkt'], 600);
  assert.equal(d['decompress_in.bytes'], legBytes);
  assert.equal(d['decompress_out.pkt'], 600);
  assert.equal(d['decompress_out.bytes'], inBytes);
  assert.equal(d['bad_frames'], 0);
});

test('legacy: windows of 0x01 + zlib flushed by time come out of the decompress relay as the exact messages', async (t) => {
  const { out, decomp, mid, forward, comp, input } = await chain(t, [
    ...ALWAYS_COMPRESS,
    '--window-flush',
    '0.05',
  ]);
  const msgs = Array.from({ length: 200 }, (_, i) =>
    encodeLegacyPacket(1_700_000_000 + i, i, 0, textPayload(i, 100 + i)),
  );
  for (const m of msgs) await input.send(m);
  // Each message closes a 1-byte measurement window, so each compressed message is its own
  // window; the last one is also flushed by --window-flush without any further traffic.
  await mid.waitCount(msgs.length);
  assert.equal(mid.msgs[0]![0], 0x00);
  assert.ok(mid.msgs.slice(1).every((m) => m[0] === 0x01));
  for (const m of mid.msgs) await forward.send(m);
  await out.waitCount(msgs.length);
  assert.deepEqual(out.msgs, msgs);
  const c = await stop(comp);
  assert.equal(c['compress_in.pkt'], 200);
  assert.equal(c['compress_out.pkt'], 200);
  const d = await stop(decomp);
  assert.equal(d['decompress_out.pkt'], 200);
  assert.equal(d['bad_frames'], 0);
});

test('legacy windows larger than one message: pending window flushed on SIGTERM', async (t) => {
  // A large measurement window keeps the shaper in one regime; the first message (> window)
  // switches it to compress at once. A long --window-flush: only SIGTERM sends the window.
  const out = await sink(t);
  const [comp, src] = await relay(t, 'nflog-zmq-compress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--lwm',
    '0.000001',
    '--hwm',
    '0',
    '--wm-interval',
    '1',
    '--window-flush',
    '3600',
    '--stats-interval',
    '0.05',
  ]);
  const input = source(t, src);
  const first = Buffer.alloc(1024 * 1024 + 1, 7);
  const rest = Array.from({ length: 20 }, (_, i) => textPayload(i, 50));
  await input.send(first);
  await out.waitCount(1);
  for (const m of rest) await input.send(m);
  // The relay has read them all once its periodic summary counts them; then stop it.
  await comp.waitForStderr(/ stats .*compress_in\.pkt=21 /);
  assert.equal(out.msgs.length, 1);
  const c = await stop(comp);
  await out.waitCount(2);
  assert.deepEqual(out.msgs[0], Buffer.concat([Buffer.from([0]), first]));
  assert.deepEqual(decodeLegacyShaped(out.msgs[1]!), rest);
  assert.equal(c['compress_out.pkt'], 21);
  assert.equal(c['compress_out.bytes'], out.msgs[0].length + out.msgs[1]!.length);
});

test('decompress relay counts a zip bomb, corrupt deflate and a legacy bomb as bad, and keeps forwarding', async (t) => {
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const out = await sink(t);
  const [decomp, src] = await relay(t, 'nflog-zmq-decompress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--max-inflate',
    '1',
    ...statsd.cliArgs('t.'),
  ]);
  const input = source(t, src);
  const good1 = makeFrame([textPayload(1, 500), textPayload(2, 600)], 0n);
  const good2 = makeFrame([textPayload(3, 700)], 2n);
  const bombRecords = deflateRawSync(Buffer.alloc(16 * 1024 * 1024));
  const forged = (records: Buffer, rawBytes: number, count: number): Buffer =>
    encodeFrame(
      { linktype: 101, senderId: 9n, firstSeq: 5n, count, flags: WIRE_FLAG_COMPRESSED, rawBytes },
      records,
    );
  const bad = [
    forged(bombRecords, 4096, 1), // inflates past its rawBytes
    forged(bombRecords, 16 * 1024 * 1024, 1), // rawBytes above --max-inflate 1 MiB
    forged(Buffer.from([0xff, 0xfe, 0xfd, 0xfc]), 100, 1), // corrupt deflate
    Buffer.concat([Buffer.from([1]), deflateSync(Buffer.alloc(8 * 1024 * 1024))]), // legacy bomb
    Buffer.from([0x07, 1, 2, 3]), // neither v1 nor 0x00/0x01
  ];
  await input.send(compressFrame(good1));
  for (const b of bad) await input.send(b);
  await input.send(compressFrame(good2));
  await out.waitCount(2);
  assert.deepEqual(out.msgs, [good1, good2]);
  assert.equal(await statsd.waitFor('t.bad_frames', (n) => n >= 5), 5);
  assert.equal(await statsd.waitFor('t.decompress_out.pkt', (n) => n >= 3), 3);
  const d = await stop(decomp);
  assert.equal(d['bad_frames'], 5);
  assert.equal(d['decompress_in.pkt'], 3);
  assert.equal(d['decompress_out.pkt'], 3);
  assert.equal(d['decompress_out.bytes'], good1.length + good2.length);
  assert.match(decomp.stderr(), /WARN .*err="ERR_WIRE_OVERSIZE: /);
  assert.match(decomp.stderr(), /WARN .*err="ERR_WIRE_INFLATE: /);
});

test('a message above the largest a relay takes is refused by ZeroMQ before it is buffered; the relay keeps forwarding', async (t) => {
  const out = await sink(t);
  // --max-inflate 1 MiB: the PULL socket takes messages up to about 1.07 MiB (ZMQ_MAXMSGSIZE).
  const [decomp, src] = await relay(t, 'nflog-zmq-decompress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--max-inflate',
    '1',
  ]);
  const input = source(t, src);
  const good1 = makeFrame([textPayload(1, 500)], 0n);
  const good2 = makeFrame([textPayload(2, 600)], 1n);
  await input.send(good1);
  await out.waitCount(1);
  // 32 MiB: libzmq reads its size, drops the connection and never allocates it. The source
  // reconnects, and what it queued after it still arrives.
  await input.send(Buffer.alloc(32 * 1024 * 1024, 0));
  await input.send(good2);
  await out.waitCount(2);
  assert.deepEqual(out.msgs, [good1, good2]);
  const d = await stop(decomp);
  assert.deepEqual(
    [d['decompress_in.pkt'], d['decompress_in.bytes'], d['decompress_out.pkt'], d['bad_frames']],
    [2, good1.length + good2.length, 2, 0],
    'the big message never reached the relay',
  );
});

test('usage errors exit 2 with one stderr line', async () => {
  const cases: Array<[string, string[]]> = [
    ['nflog-zmq-compress', ['--lwm', '5', '--hwm', '1', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-compress', ['not-an-endpoint', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-compress', ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:*']],
    ['nflog-zmq-compress', ['--lwm', 'fast', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
    // Parses as MiB/s but is not finite: the shaper's coded RangeError, reported as usage.
    ['nflog-zmq-compress', ['--hwm', '9'.repeat(400), 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-decompress', ['--wire', 'v2', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-decompress', ['tcp://127.0.0.1:*']],
    ['nflog-zmq-decompress', ['bogus://x', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-decompress', ['--queue', '0', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
    ['nflog-zmq-compress', ['--queue', 'lots', 'tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
  ];
  for (const [tool, args] of cases) {
    const { code, stderr } = await runTool(tool as 'nflog-zmq-compress', args);
    const lines = stderr.split('\n').filter((l) => l !== '');
    assert.equal(code, 2, `${tool} ${args.join(' ')}: ${stderr}`);
    assert.equal(lines.length, 1, stderr);
    assert.ok(lines[0]!.startsWith(`${tool}: `), lines[0]);
  }
});

test('bytes that are not v1 are bad frames for --wire v1; records are validated before compressing', async (t) => {
  const out = await sink(t);
  const [comp, src] = await relay(t, 'nflog-zmq-compress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--wire',
    'v1',
    ...ALWAYS_COMPRESS,
  ]);
  const input = source(t, src);
  const good = makeFrame([textPayload(0, 300)]);
  const lying = Buffer.from(good);
  lying.writeUInt32LE(2, 8); // count 2, one record
  await input.send(encodeLegacyPacket(1, 2, 0, Buffer.from('abcd')));
  await input.send(lying);
  await input.send(good);
  await out.waitCount(1);
  assert.deepEqual(out.msgs, [good]); // the first valid frame closes the first window: passed
  const c = await stop(comp);
  assert.equal(c['bad_frames'], 2);
  assert.equal(c['compress_in.pkt'], 1);
  assert.ok(isV1Frame(out.msgs[0]!));
});

test('v1 heartbeats (count 0) pass the compress relay even while it drops frames above --hwm; --stats-interval 0 logs only the final line', async (t) => {
  const out = await sink(t);
  // hwm 1 B/s over a 1-byte window: after the first frame every frame is above it.
  const [comp, src] = await relay(t, 'nflog-zmq-compress', [
    'tcp://127.0.0.1:*',
    out.endpoint,
    '--lwm',
    '0',
    '--hwm',
    '0.000001',
    '--wm-interval',
    '0.000001',
    '--stats-interval',
    '0',
  ]);
  const input = source(t, src);
  const frames = Array.from({ length: 5 }, (_, i) => makeFrame([textPayload(i, 300)], BigInt(i)));
  for (const f of frames) await input.send(f);
  const heartbeat = encodeFrame(
    { linktype: 101, senderId: 7n, firstSeq: 5n, count: 0 },
    Buffer.alloc(0),
  );
  await input.send(heartbeat);
  await out.waitCount(2);
  const counts = await stop(comp);
  assert.deepEqual(out.msgs, [frames[0], heartbeat]);
  assert.equal(counts['loss.shaper.pkt'] ?? counts['dropped_shaper'], 4, JSON.stringify(counts));
  assert.doesNotMatch(comp.stderr(), / stats /);
});
