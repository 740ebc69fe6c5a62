// nflog-zmq-send with several receivers, through the kernel in a namespace and the real receivers: with --shard flow (2 and 3 receivers) 300 TCP flows logged both ways plus 300 UDP flows land each flow on exactly the receiver its hash maps to, the union equals the nft counters and each receiver's share is within ±25 % of even, the per-shard counters in the stopped line, Prometheus and statsd agree; two senders in two namespaces put each flow's packets on the same receiver; --shard duplicate gives every receiver every packet.
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  Children,
  Netns,
  TEST_TIMEOUT_MS,
  logField,
  logLines,
  makeTempDir,
  nftLogged,
  parseLogCounters,
  payloadFor,
  parseIpPacket,
  parsePrometheusText,
  promtoolCheckMetrics,
  requirePrereqs,
  sampleKey,
  scrape,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
  waitForLogLines,
  withTimeout,
  type ChildHandle,
  type MetricSamples,
} from '@nflog-pipe/testing';
import {
  TCP_PORT,
  UDP_PORT,
  endpointsIn,
  expectedShard,
  flowOf,
  flowRuleset,
  flowsByReceiver,
  nflogRecord,
  perShard,
  recordsOf,
  startReceiver,
  statsdIn,
  type TestReceiver,
} from './shard-helper.js';

const GROUP = 5;
const FLOWS = 300;
const UDP_SOURCES = 300;
const UDP_DATAGRAMS = 1200;
const SIZE = 200;
const SEED = 15;

/** 300 TCP flows (each: handshake, request, response, close) and 1200 datagrams from 300 UDP sockets. */
async function traffic(ns: Netns, srcPort: number): Promise<void> {
  const flows = await withTimeout(
    sendTraffic(ns, {
      proto: 'flows',
      count: FLOWS,
      size: SIZE,
      seed: SEED,
      port: TCP_PORT,
      srcPort,
    }),
    2 * TEST_TIMEOUT_MS,
    'tcp flows',
  );
  assert.equal(flows.sent, FLOWS);
  const udp = await withTimeout(
    sendTraffic(ns, {
      proto: 'udp',
      count: UDP_DATAGRAMS,
      size: SIZE,
      seed: SEED,
      port: UDP_PORT,
      sources: UDP_SOURCES,
      srcPort: srcPort + FLOWS,
    }),
    2 * TEST_TIMEOUT_MS,
    'udp',
  );
  assert.equal(udp.sent, UDP_DATAGRAMS);
}

/** A namespace logging the flows to `group`, removed after the test. */
async function namespace(t: TestContext, tag: string, group: number): Promise<Netns> {
  const ns = await Netns.create(tag);
  t.after(() => ns.remove());
  await ns.nft(flowRuleset(group));
  return ns;
}

/** nflog-zmq-send in `ns` reading `group` and pushing to `endpoints`. */
function startSender(
  kids: Children,
  ns: Netns,
  group: number,
  endpoints: readonly string[],
  extra: readonly string[] = [],
): Promise<ChildHandle> {
  return kids.start(
    'nflog-zmq-send',
    [String(group), ...endpoints, '--stats-interval', '0.05', ...extra],
    / started /,
    ns,
  );
}

/**
 * Once the sender has read all `logged` packets: stops it, waits until each receiver has what
 * its shard queued, stops them; returns the sender's stopped line.
 */
async function drain(
  sender: ChildHandle,
  receivers: readonly TestReceiver[],
  logged: number,
): Promise<string> {
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === logged, 'sender read all');
  const stopped = await stopCleanly(sender, 'the sender');
  const shards = perShard(stopped);
  for (const [i, r] of receivers.entries()) {
    await waitForLogCounters(
      r.handle,
      'stats',
      (c) => c['in_pkt'] === shards[i]!.queued,
      `receiver ${i} has its shard's ${shards[i]!.queued}`,
    );
    const c = parseLogCounters(await stopCleanly(r.handle, `receiver ${i}`));
    assert.equal(c['loss_network_pkt'], 0, `receiver ${i}: no gap`);
  }
  return stopped;
}

/**
 * One scrape of the sender's per-shard families (checked by promtool), per shard in endpoint
 * order: packets routed and sent, lost (queue full), moves (out and in), live.
 */
async function scrapeShards(
  url: string,
  ns: Netns,
  endpoints: readonly string[],
): Promise<{ routed: number; sent: number; lost: number; moves: number; live: number }[]> {
  const text = await scrape(url, ns);
  assert.deepEqual(await promtoolCheckMetrics(text), { code: 0, output: '' }, 'promtool');
  const m: MetricSamples = parsePrometheusText(text);
  const v = (name: string, labels: Record<string, string>): number => {
    const x = m.get(sampleKey(name, labels));
    assert.notEqual(x, undefined, `${sampleKey(name, labels)} scraped`);
    return x!;
  };
  return endpoints.map((endpoint, i) => {
    const at = { shard: String(i), endpoint };
    return {
      routed: v('nflog_pipe_shard_packets_total', { ...at, stage: 'routed' }),
      sent: v('nflog_pipe_shard_packets_total', { ...at, stage: 'sent' }),
      // Without --rate-control a shard has no shaper, and no shaper series.
      lost: v('nflog_pipe_shard_lost_packets_total', { ...at, stage: 'zmq_queue' }),
      moves:
        v('nflog_pipe_shard_moves_total', { ...at, direction: 'out' }) +
        v('nflog_pipe_shard_moves_total', { ...at, direction: 'in' }),
      live: v('nflog_pipe_shard_live', at),
    };
  });
}

/**
 * A directory whose path is the same in every run: the endpoint strings are the rendezvous
 * table's input, so with them (and the traffic's fixed ports) fixed, each flow's receiver and
 * the shares are the same in every run, and the ±25 % check cannot fail by chance.
 */
async function fixedDir(t: TestContext, name: string): Promise<string> {
  const dir = join(tmpdir(), `nflog-pipe-test-${name}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function flowRun(t: TestContext, receiversN: number): Promise<void> {
  const dir = await fixedDir(t, `shard${receiversN}`);
  const ns = await namespace(t, `shard${receiversN}`, GROUP);
  const kids = new Children(t);
  const { endpoints, files } = endpointsIn(dir, receiversN);
  const receivers = await Promise.all(endpoints.map((e, i) => startReceiver(kids, e, files[i]!)));
  const statsd = await statsdIn(kids, ns);
  const sender = await startSender(kids, ns, GROUP, endpoints, [
    '--metrics-listen',
    '127.0.0.1:0',
    ...['-m', `127.0.0.1:${statsd.port}`, '-n', 's.', '--statsd-interval', '0.05'],
  ]);
  const url = (await sender.waitForStderr(/ metrics listening .*url=(\S+)/))[1]!;
  const started = logLines(sender.stderr(), 'started')[0]!;
  assert.match(started, / shard=flow shard_key=5tuple shard_failover_s=5 /);
  // One stream, and so one sender id, per shard.
  const ids = (await waitForLogLines(sender, 'shard', receiversN)).map((l) =>
    logField(l, 'sender'),
  );
  assert.equal(new Set(ids).size, receiversN);

  await traffic(ns, 20000);
  const logged = await nftLogged(ns, GROUP);
  assert.ok(logged >= FLOWS * 8 + UDP_DATAGRAMS, `${logged} packets logged`);
  // Once all is queued the per-shard counters stop moving: scrape them before the stop.
  await waitForLogCounters(sender, 'stats', (c) => c['queued'] === logged, 'sender queued all');
  const metrics = await scrapeShards(url, ns, endpoints);
  const stopped = await drain(sender, receivers, logged);
  const s = parseLogCounters(stopped);
  assert.deepEqual(
    [s['captured'], s['queued'], s['dropped_queue'], s['dropped_kernel'], s['shard_moves']],
    [logged, logged, 0, 0, 0],
  );
  // Prometheus says per shard what the stopped line says, and the shards add up to the total.
  assert.deepEqual(
    metrics,
    perShard(stopped).map((x) => ({
      routed: x.routed,
      sent: x.queued,
      lost: 0,
      moves: 0,
      live: 1,
    })),
  );
  assert.equal(
    metrics.reduce((n, m) => n + m.routed, 0),
    logged,
  );
  // statsd (flushed at stop) counts the same per shard, and the shards add up to raw_out.pkt.
  const routedKey = (i: number): string => `s.shard.${i}.routed.pkt`;
  const totals = await statsd.waitFor(
    (c) => metrics.every((m, i) => c.get(routedKey(i)) === m.routed),
    'statsd per-shard counts',
  );
  metrics.forEach((m, i) => {
    assert.equal(totals.get(`s.shard.${i}.raw_out.pkt`), m.sent, `shard ${i} raw_out.pkt`);
    assert.equal(totals.get(`s.shard.${i}.loss.zmq_queue.pkt`) ?? 0, 0);
  });
  assert.equal(totals.get('s.raw_out.pkt'), logged);

  const packets = files.map((f) => recordsOf(f));
  const flows = packets.map((recs) => recs.map((ip) => flowOf(ip)));
  // The union is what the rules logged; every packet of a flow at one receiver, the one its
  // hash maps to among these endpoint strings.
  assert.equal(
    packets.reduce((n, p) => n + p.length, 0),
    logged,
  );
  const where = flowsByReceiver(flows);
  assert.equal(where.size, FLOWS + UDP_SOURCES, 'every flow seen');
  for (const [flow, at] of where) assert.equal(at.size, 1, `${flow} at ${[...at].join(',')}`);
  packets.forEach((recs, r) => {
    for (const ip of recs) assert.equal(expectedShard(ip, endpoints), r);
  });
  // Byte-exact: each datagram carries its own payload.
  for (const recs of packets)
    for (const ip of recs) {
      const { proto, payload } = parseIpPacket(ip);
      if (proto === 17) assert.ok(payload.equals(payloadFor(SEED, payload.readUInt32BE(4), SIZE)));
    }
  const even = logged / receiversN;
  packets.forEach((recs, r) =>
    assert.ok(
      Math.abs(recs.length - even) <= 0.25 * even,
      `receiver ${r}: ${recs.length} of ${logged} packets (even: ${Math.round(even)})`,
    ),
  );
  t.diagnostic(`shares ${packets.map((p) => p.length).join('/')} of ${logged}`);
}

test('--shard flow, 2 receivers: each flow at the one its hash maps to, the union exact, shares even', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  await flowRun(t, 2);
});

test('--shard flow, 3 receivers: each flow at the one its hash maps to, the union exact, shares even', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  await flowRun(t, 3);
});

test('two senders in two namespaces with the same endpoint list put each flow on the same receiver', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  // The same flows (same addresses and ports) in both; the group in each 239 record says which.
  const groups = [6, 7];
  const nss = await Promise.all(groups.map((g, i) => namespace(t, `gw${i}`, g)));
  const kids = new Children(t);
  const { endpoints, files } = endpointsIn(dir, 3);
  const receivers = await Promise.all(
    endpoints.map((e, i) => startReceiver(kids, e, files[i]!, 239)),
  );
  // The second sender lists the endpoints in another order: the mapping depends on the strings.
  const senders = await Promise.all(
    nss.map((ns, i) =>
      startSender(kids, ns, groups[i]!, i === 0 ? endpoints : [...endpoints].reverse(), [
        '--linktype',
        '239',
      ]),
    ),
  );
  await Promise.all(nss.map((ns) => traffic(ns, 20000)));
  const logged = await Promise.all(nss.map((ns, i) => nftLogged(ns, groups[i]!)));
  // Both stop first, then the receivers drain: each receiver's count is the sum of two shards.
  const stops = await Promise.all(
    senders.map(async (s, i) => {
      await waitForLogCounters(s, 'stats', (c) => c['captured'] === logged[i], `sender ${i}`);
      return perShard(await stopCleanly(s, `sender ${i}`));
    }),
  );
  for (const [r, rec] of receivers.entries()) {
    // Sender 1's shard of this endpoint is at the mirrored position of its list.
    const want = stops[0]![r]!.queued + stops[1]![2 - r]!.queued;
    await waitForLogCounters(rec.handle, 'stats', (c) => c['in_pkt'] === want, `receiver ${r}`);
    await stopCleanly(rec.handle, `receiver ${r}`);
  }
  const seen = new Map<string, Set<number>>();
  const perOrigin = [0, 0];
  const perReceiverOrigin = files.map(() => [0, 0]);
  files.forEach((f, r) => {
    for (const data of recordsOf(f)) {
      const { group, ip } = nflogRecord(data);
      const origin = groups.indexOf(group);
      assert.ok(origin >= 0, `group ${group}`);
      perOrigin[origin]!++;
      perReceiverOrigin[r]![origin]!++;
      const flow = flowOf(ip);
      let at = seen.get(flow);
      if (at === undefined) seen.set(flow, (at = new Set()));
      at.add(r);
    }
  });
  assert.deepEqual(perOrigin, logged, 'each sender: what its namespace logged');
  assert.equal(seen.size, FLOWS + UDP_SOURCES);
  for (const [flow, at] of seen) assert.equal(at.size, 1, `${flow} at ${[...at].join(',')}`);
  // Both senders fed every receiver, and about equally: the same flows, the same receivers.
  perReceiverOrigin.forEach(([a, b], r) => {
    assert.ok(a! > 0 && b! > 0, `receiver ${r}: ${a} and ${b}`);
    assert.ok(Math.abs(a! - b!) <= 0.05 * Math.max(a!, b!), `receiver ${r}: ${a} and ${b}`);
  });
});

test('--shard duplicate: every receiver gets every packet, byte for byte', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  const ns = await namespace(t, 'dup', GROUP);
  const kids = new Children(t);
  const { endpoints, files } = endpointsIn(dir, 3);
  const receivers = await Promise.all(endpoints.map((e, i) => startReceiver(kids, e, files[i]!)));
  const sender = await startSender(kids, ns, GROUP, endpoints, ['--shard', 'duplicate']);
  assert.match(logLines(sender.stderr(), 'started')[0]!, / shard=duplicate /);
  await traffic(ns, 20000);
  const logged = await nftLogged(ns, GROUP);
  const stopped = await drain(sender, receivers, logged);
  const s = parseLogCounters(stopped);
  // Each packet read once, queued three times.
  assert.deepEqual([s['captured'], s['queued'], s['dropped_queue']], [logged, 3 * logged, 0]);
  for (const x of perShard(stopped)) assert.deepEqual([x.routed, x.queued], [logged, logged]);
  const [first, ...others] = files.map((f) => recordsOf(f));
  assert.equal(first!.length, logged);
  for (const recs of others) assert.deepEqual(recs, first);
});
