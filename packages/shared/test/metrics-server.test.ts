// Proves one declaration feeds both exporters: the same increments reach a real statsd listener (summed over labels) and a real HTTP scrape of /metrics (by label), the scrape passes promtool, the server answers only GET/HEAD /metrics, and listen errors and bad values are typed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  FAMILY,
  METRIC,
  MetricsServer,
  MetricsServerError,
  PROMETHEUS_DEFAULTS_LEFT_OUT,
  VERSION,
  createLogger,
  createMetrics,
  family,
  parseMetricsListen,
  series,
} from '../src/index.js';
import {
  StatsdListener,
  hasTool,
  parsePrometheusText,
  promtoolCheckMetrics,
  requirePrereqs,
  runCommand,
  sampleKey,
  scrape,
} from '@nflog-pipe/testing';

const quiet = createLogger({ name: 'test', level: 'silent' });

async function serve(
  t: { after(fn: () => Promise<void>): void },
  metrics: ReturnType<typeof createMetrics>,
): Promise<MetricsServer> {
  const server = await MetricsServer.start(
    metrics.prometheus!,
    { host: '127.0.0.1', port: 0 },
    quiet,
  );
  t.after(() => server.close());
  return server;
}

test('the same counts reach statsd (summed over labels) and /metrics (by label); promtool finds nothing', async (t) => {
  const listener = await StatsdListener.start();
  t.after(() => listener.close());
  const metrics = createMetrics(
    { host: '127.0.0.1', port: listener.port, prefix: '', flushIntervalMs: 3_600_000, type: 'c' },
    quiet,
    { tool: 'nflog-test' },
  );
  t.after(() => metrics.close());
  const server = await serve(t, metrics);

  metrics.increment(METRIC.RECEIVED_PKT, 5);
  const fifo = metrics.counter(METRIC.WRITTEN_PKT, { output: 'fifo' });
  const file = metrics.counter(METRIC.WRITTEN_PKT, { output: 'file' });
  fifo.inc(3);
  file.inc(4);
  // A correction (records an output reported lost after taking them) reaches statsd only: a
  // Prometheus counter never decreases.
  file.inc(-1);
  metrics.counter(METRIC.LOSS_NETWORK_PKT); // exported at 0 from its creation
  const peers = metrics.gauge(METRIC.CONNECTED_PEERS, { socket: 'pull' });
  peers.add(2);
  let exports = 0;
  const unhook = metrics.onExport(() => {
    exports++;
    metrics.gauge(METRIC.RING_BYTES).set(1234);
  });
  const delay = metrics.histogram(METRIC.DELIVERY_DELAY);
  delay.observe(0.02);
  delay.observe(7);
  // Labels a log prefix brings with --prefix-labels are allowed on this family only.
  metrics.counter(METRIC.LOGGED_PKT, { group: '7', svc: 'dns', dir: 'out' }).inc(9);
  metrics.counter(METRIC.LOGGED_PKT, { group: '8', prefix: 'a "quoted"\\ prefix' }).inc(1);

  const text = await scrape(server.url);
  assert.equal(exports, 1, 'export hooks run once per scrape');
  const s = parsePrometheusText(text);
  const v = (name: string, labels: Record<string, string> = {}): number | undefined =>
    s.get(sampleKey(name, labels));
  assert.equal(v('nflog_pipe_packets_total', { stage: 'received' }), 5);
  assert.equal(v('nflog_pipe_packets_total', { stage: 'written', output: 'fifo' }), 3);
  assert.equal(v('nflog_pipe_packets_total', { stage: 'written', output: 'file' }), 4);
  assert.equal(v('nflog_pipe_lost_packets_total', { stage: 'network' }), 0);
  assert.equal(v('nflog_pipe_connected_peers', { socket: 'pull' }), 2);
  assert.equal(v('nflog_pipe_ring_bytes'), 1234);
  assert.equal(v('nflog_pipe_delivery_delay_seconds_count'), 2);
  assert.equal(v('nflog_pipe_delivery_delay_seconds_bucket', { le: '0.025' }), 1);
  assert.equal(v('nflog_pipe_delivery_delay_seconds_bucket', { le: '10' }), 2);
  assert.equal(v('nflog_pipe_logged_packets_total', { group: '7', svc: 'dns', dir: 'out' }), 9);
  assert.equal(
    v('nflog_pipe_logged_packets_total', { group: '8', prefix: 'a "quoted"\\ prefix' }),
    1,
  );
  assert.equal(
    v('nflog_pipe_build_info', {
      tool: 'nflog-test',
      version: VERSION,
      nodejs_version: process.version,
    }),
    1,
  );
  for (const left of PROMETHEUS_DEFAULTS_LEFT_OUT) assert.ok(!text.includes(`\n${left} `), left);
  assert.ok(s.has('process_resident_memory_bytes') && s.has('nodejs_eventloop_lag_seconds'));
  if (hasTool('promtool') || process.env['CI'] === 'true')
    assert.deepEqual(await promtoolCheckMetrics(text), { code: 0, output: '' });

  metrics.flush();
  await listener.waitFor('raw_out.pkt', (n) => n === 6);
  assert.equal(listener.total('raw_in.pkt'), 5);
  assert.equal(exports, 2, 'and once per statsd flush');
  assert.ok(!listener.lines.some((l) => l.includes('connected') || l.includes('logged')));
  unhook();

  // A label name seen for the first time widens the family; the next scrape shows it.
  metrics.counter(METRIC.LOGGED_PKT, { group: '9', zone: 'dmz' }).inc(2);
  const again = parsePrometheusText(await scrape(server.url));
  assert.equal(
    again.get(sampleKey('nflog_pipe_logged_packets_total', { group: '9', zone: 'dmz' })),
    2,
  );
  assert.equal(
    again.get(sampleKey('nflog_pipe_logged_packets_total', { group: '7', svc: 'dns', dir: 'out' })),
    9,
  );
  assert.equal(exports, 2, 'an unregistered hook no longer runs');
});

test('declarations: conventions checked at load, labels checked at binding', () => {
  for (const f of Object.values(FAMILY)) {
    assert.match(f.name, /^nflog_pipe_[a-z_]+$/);
    assert.equal(f.type === 'counter', f.name.endsWith('_total'), f.name);
  }
  for (const s of Object.values(METRIC)) assert.ok(Object.values(FAMILY).includes(s.family));
  assert.throws(() => family({ name: 'x_total', type: 'counter', help: 'h', labelNames: [] }));
  assert.throws(() => family({ name: 'nflog_pipe_x', type: 'counter', help: 'h', labelNames: [] }));
  assert.throws(() =>
    family({ name: 'nflog_pipe_x_total', type: 'gauge', help: 'h', labelNames: [] }),
  );
  assert.throws(() => series(FAMILY.PACKETS, { nope: 'x' }, undefined));
  const m = createMetrics(null, quiet);
  assert.throws(() => m.counter(METRIC.WRITTEN_PKT), TypeError, 'its output label is required');
  assert.throws(() => m.counter(METRIC.RECEIVED_PKT, { output: 'x', extra: 'y' }), TypeError);
  assert.throws(() => m.gauge(METRIC.RECEIVED_PKT), TypeError, 'a counter is not a gauge');
  assert.throws(() => m.counter(METRIC.LOGGED_PKT, { group: '1', __x: 'y' }), TypeError);
  assert.equal(m.prometheus, null);
  m.histogram(METRIC.DELIVERY_DELAY).observe(1); // a no-op without Prometheus
});

test('GET and HEAD /metrics only; other paths 404, other methods 405', async (t) => {
  const metrics = createMetrics(null, quiet, { tool: 't', defaultMetrics: false });
  const server = await serve(t, metrics);
  const get = await fetch(server.url);
  assert.equal(get.status, 200);
  assert.match(get.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await get.text(), /^# HELP nflog_pipe_build_info /m);
  const head = await fetch(server.url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  assert.equal((await fetch(server.url.replace('/metrics', '/'))).status, 404);
  const post = await fetch(server.url, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  await server.close();
  await server.close(); // twice is safe
});

test('--metrics-listen values: [HOST:]PORT, default host 127.0.0.1; anything else is a usage error', () => {
  assert.deepEqual(parseMetricsListen('9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseMetricsListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseMetricsListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseMetricsListen(' localhost:65535 '), { host: 'localhost', port: 65535 });
  for (const bad of [
    '',
    'x',
    ':1',
    'h:',
    '65536',
    '1.2.3.4:99999',
    '::1:80',
    'http://h:1',
    'h:1:2',
  ])
    assert.throws(() => parseMetricsListen(bad), InvalidArgumentError, bad);
});

test('a port in use is MetricsServerError ERR_METRICS_LISTEN with the listen error as cause', async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as { port: number }).port;
  const metrics = createMetrics(null, quiet, { tool: 't', defaultMetrics: false });
  await assert.rejects(
    MetricsServer.start(metrics.prometheus!, { host: '127.0.0.1', port }, quiet),
    (err: unknown) =>
      err instanceof MetricsServerError &&
      err.code === 'ERR_METRICS_LISTEN' &&
      (err.cause as { code?: string }).code === 'EADDRINUSE',
  );
});

test('promtool accepts the example alert rules and their unit tests pass', async (t) => {
  if (!requirePrereqs(t, { tools: ['promtool'] })) return;
  const dir = new URL('../../../../contrib/prometheus/', import.meta.url).pathname;
  const check = await runCommand('promtool', ['check', 'rules', `${dir}nflog-pipe.rules.yml`]);
  assert.match(check.stdout, /SUCCESS: 4 rules found/);
  const unit = await runCommand('promtool', ['test', 'rules', `${dir}nflog-pipe.rules.test.yml`]);
  assert.match(unit.stdout, /SUCCESS/);
  // The rules only name declared families (histograms through their _bucket series).
  const rules = await readFile(`${dir}nflog-pipe.rules.yml`, 'utf8');
  const names = new Set(Object.values(FAMILY).map((f) => f.name));
  for (const [used] of rules.matchAll(/nflog_pipe_[a-z_]+/g))
    assert.ok(names.has(used.replace(/_bucket$/, '')), `${used} is declared`);
});
