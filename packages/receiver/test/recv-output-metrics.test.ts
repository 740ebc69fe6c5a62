// Proves each output's metrics: Prometheus series by `output` label (fifo stage losses at 0, the PCAP-over-IP clients gauge) that promtool accepts, and statsd names of their own, so raw_out.pkt still counts each packet once with three outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { encodeFrame } from '@nflog-pipe/shared';
import {
  StatsdListener,
  logField,
  makeTempDir,
  parsePrometheusText,
  promtoolCheckMetrics,
  requirePrereqs,
  sampleKey,
  scrape,
  waitForLogCounters,
  withTimeout,
  TEST_TIMEOUT_MS,
} from '@nflog-pipe/testing';
import { pushSocket, startReceiver } from './e2e-util.js';
import { numbered, records } from './helpers.js';

test('three outputs: each counted under its output label and statsd name; raw_out.pkt is DST only', async (t) => {
  if (!requirePrereqs(t, { tools: ['promtool'] })) return;
  const dir = await makeTempDir(t);
  const rot = join(dir, 'rot');
  await mkdir(rot);
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [
    ep,
    join(dir, 'dst.pcap'),
    '--pcap-over-ip',
    '127.0.0.1:0',
    '--rotate-dir',
    rot,
    '--rotate-size',
    '1',
    '--metrics-listen',
    '127.0.0.1:0',
    '--stats-interval',
    '0.05',
    ...statsd.cliArgs('t.', 0.05),
  ]);
  const started = recv
    .stderr()
    .split('\n')
    .find((l) => l.includes(' started '))!;
  const port = Number(logField(started, 'pcap_over_ip')!.split(':')[1]);
  const url = (await recv.waitForStderr(/ metrics listening .*url=(\S+)/))[1]!;
  const client = connect(port, '127.0.0.1');
  client.resume(); // reads and discards
  t.after(() => client.destroy());
  await recv.waitForStderr(/pcap-over-ip client connected/);

  const N = 50;
  const push = pushSocket(t, ep);
  for (let f = 0; f < 5; f++) {
    const ids = Array.from({ length: 10 }, (_, i) => f * 10 + i);
    await push.send(
      encodeFrame(
        { linktype: 101, senderId: 4n, firstSeq: BigInt(f * 10), count: 10 },
        records(ids.map((i) => numbered(i))),
      ),
    );
  }
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['out_pkt'] === N && c['pcap_over_ip_out_pkt'] === N && c['rotate_out_pkt'] === N,
    'every output wrote the 50 packets',
  );
  const text = await scrape(url);
  assert.deepEqual(await promtoolCheckMetrics(text), { code: 0, output: '' });
  const s = parsePrometheusText(text);
  const v = (name: string, labels: Record<string, string>): number | undefined =>
    s.get(sampleKey(name, labels));
  for (const output of ['file', 'pcap_over_ip', 'rotate']) {
    assert.equal(v('nflog_pipe_packets_total', { stage: 'written', output }), N, output);
    assert.equal(v('nflog_pipe_lost_packets_total', { stage: 'fifo', output }), 0, output);
  }
  assert.equal(v('nflog_pipe_output_clients', { output: 'pcap_over_ip' }), 1);
  assert.equal(v('nflog_pipe_packets_total', { stage: 'received' }), N);
  // statsd: the Python tool's raw_out.pkt is DST's; the others have their own names.
  await withTimeout(
    Promise.all([
      statsd.waitFor('t.raw_out.pkt', (x) => x === N),
      statsd.waitFor('t.pcap_over_ip.out.pkt', (x) => x === N),
      statsd.waitFor('t.rotate.out.pkt', (x) => x === N),
    ]),
    TEST_TIMEOUT_MS,
    'statsd counters',
  );
  assert.equal(statsd.total('t.raw_out.pkt'), N);
});
