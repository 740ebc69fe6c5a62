// Proves metrics reach a real statsd UDP listener aggregated: exact sums, the CLI prefix with
// {host} expanded, one datagram per flush (never per increment), interval and close flushes,
// and send errors logged once without throwing.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import {
  FAMILY,
  METRIC,
  addStatsdOptions,
  expandStatsdName,
  series,
  createLogger,
  createMetrics,
  createProgram,
  statsdName,
  statsdOptionsFrom,
  type StatsdOptions,
} from '../src/index.js';
import { StatsdListener } from '@nflog-pipe/testing';

const quiet = createLogger({ name: 'test', level: 'silent' });

function optionsFor(port: number, extra: string[] = []): StatsdOptions {
  const p = addStatsdOptions(createProgram('t', 'd'));
  p.parse(['-m', `127.0.0.1:${port}`, '--statsd-interval', '3600', ...extra], { from: 'user' });
  const o = statsdOptionsFrom(p.opts());
  assert.ok(o !== null);
  return o;
}

test('counters are summed in-process and sent once per flush with the expanded prefix', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const metrics = createMetrics(optionsFor(listener.port), quiet);
  t.after(() => metrics.close());
  const prefix = `${hostname()}.nflog_pipe.`;

  metrics.flush(); // nothing pending: must send nothing (checked by the datagram count below)
  for (let i = 0; i < 1000; i++) {
    metrics.increment(METRIC.CAPTURED_PKT);
    metrics.increment(METRIC.CAPTURED_BYTES, 100);
  }
  metrics.increment(METRIC.LOSS_QUEUE_PKT, 0);
  metrics.flush();
  await listener.waitFor(`${prefix}raw_in.bytes`, (n) => n === 100_000);
  assert.equal(listener.datagrams, 1);
  assert.deepEqual(listener.lines, [
    `${prefix}raw_in.pkt:1000|c`,
    `${prefix}raw_in.bytes:100000|c`,
  ]);

  metrics.increment(METRIC.CAPTURED_PKT, 5);
  metrics.increment(METRIC.BAD_FRAMES);
  metrics.flush();
  await listener.waitFor(`${prefix}bad_frames`, (n) => n === 1);
  assert.equal(listener.datagrams, 2);
  assert.equal(listener.total(`${prefix}raw_in.pkt`), 1005);
  assert.deepEqual(listener.lines.slice(2), [`${prefix}raw_in.pkt:5|c`, `${prefix}bad_frames:1|c`]);
  assert.deepEqual(metrics.snapshot(), {
    'raw_in.pkt': 1005,
    'raw_in.bytes': 100_000,
    'loss.zmq_queue.pkt': 0,
    bad_frames: 1,
  });
});

test('close() flushes what is pending; -t sets the type; close twice is safe', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const metrics = createMetrics(optionsFor(listener.port, ['-n', 'p.', '-t', 'd']), quiet);
  metrics.increment(METRIC.SENT_PKT, 3);
  await metrics.close();
  await metrics.close();
  await listener.waitFor('p.raw_out.pkt', (n) => n === 3);
  assert.deepEqual(listener.lines, ['p.raw_out.pkt:3|d']);
  metrics.increment(METRIC.SENT_PKT); // still counts after close, sends nothing, never throws
  metrics.flush();
  assert.equal(metrics.snapshot()['raw_out.pkt'], 4);
});

test('the interval timer flushes without an explicit flush()', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const metrics = createMetrics(
    { host: '127.0.0.1', port: listener.port, prefix: '', flushIntervalMs: 20, type: 'c' },
    quiet,
  );
  t.after(() => metrics.close());
  metrics.increment(METRIC.QUERIES, 7);
  assert.equal(await listener.waitFor('queries', (n) => n === 7), 7);
});

test('many counters are split into datagrams of at most 1432 bytes, none lost', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const prefix = `${'x'.repeat(120)}.`;
  const metrics = createMetrics(
    { host: '127.0.0.1', port: listener.port, prefix, flushIntervalMs: 3_600_000, type: 'c' },
    quiet,
  );
  t.after(() => metrics.close());
  // One series per statsd name (the sender's and the receiver's raw_in.pkt share one).
  const byName = new Map(
    Object.values(METRIC)
      .filter((s) => s.statsd !== undefined && s.dynamic.length === 0)
      .map((s) => [statsdName(s), s] as const),
  );
  const names = [...byName.keys()];
  names.forEach((name, i) => metrics.increment(byName.get(name)!, i + 1));
  metrics.flush();
  const last = names[names.length - 1] ?? '';
  await listener.waitFor(`${prefix}${last}`, (n) => n === names.length);
  assert.equal(listener.lines.length, names.length);
  names.forEach((name, i) => assert.equal(listener.total(`${prefix}${name}`), i + 1));
  assert.ok(listener.datagrams > 1);
  assert.ok(listener.datagrams < names.length);
});

test('without statsd options nothing is sent but snapshot() counts', async () => {
  const metrics = createMetrics(null, quiet);
  metrics.increment(METRIC.LOSS_SHAPER_PKT, 2);
  metrics.increment(METRIC.LOSS_SHAPER_PKT);
  metrics.flush();
  assert.deepEqual(metrics.snapshot(), { 'loss.shaper.pkt': 3 });
  await metrics.close();
});

test('send errors are logged once per condition and never thrown', async () => {
  let text = '';
  const logger = createLogger({ name: 'm', stream: { write: (s: string) => void (text += s) } });
  // A single line larger than any UDP datagram: every send fails with EMSGSIZE.
  const metrics = createMetrics(
    {
      host: '127.0.0.1',
      port: 9,
      prefix: 'x'.repeat(70_000),
      flushIntervalMs: 3_600_000,
      type: 'c',
    },
    logger,
  );
  metrics.increment(METRIC.CAPTURED_PKT);
  metrics.flush();
  metrics.increment(METRIC.CAPTURED_PKT);
  metrics.flush();
  metrics.increment(METRIC.CAPTURED_PKT);
  await metrics.close();
  const lines = text.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, text);
  assert.match(lines[0] ?? '', / WARN m: cannot send metrics .* component=statsd err="EMSGSIZE: /);
  assert.equal(metrics.snapshot()['raw_in.pkt'], 3);
});

test('a {label} in a statsd name gives one statsd counter per label value (per shard)', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const metrics = createMetrics(optionsFor(listener.port, ['-n', 'p.']), quiet);
  t.after(() => metrics.close());
  metrics.counter(METRIC.SHARD_SENT_PKT, { shard: '0', endpoint: 'tcp://a:1' }).inc(3);
  metrics.counter(METRIC.SHARD_SENT_PKT, { shard: '1', endpoint: 'tcp://b:1' }).inc(5);
  metrics.counter(METRIC.SHARD_SENT_PKT, { shard: '1', endpoint: 'tcp://b:1' }).inc(1);
  metrics.flush();
  await listener.waitFor('p.shard.1.raw_out.pkt', (n) => n === 6);
  assert.deepEqual(listener.lines.sort(), [
    'p.shard.0.raw_out.pkt:3|c',
    'p.shard.1.raw_out.pkt:6|c',
  ]);
  assert.equal(metrics.snapshot()['shard.0.raw_out.pkt'], 3);
  // A value statsd would misread is made harmless; a placeholder must name a call-site label.
  assert.equal(expandStatsdName('shard.{shard}.x', { shard: 'a.b:c|d' }), 'shard.a_b_c_d.x');
  assert.throws(() => series(FAMILY.SHARD_PACKETS, { stage: 'sent' }, 'shard.{shard}.x'), /shard/);
});
