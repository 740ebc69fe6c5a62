// Through the real CLIs and the kernel: nft log in two groups with key=value prefixes → nflog-zmq-send → compress → decompress → nflog-pcap-recv, each with --metrics-listen; real HTTP scrapes show every stage's count equal to the packets sent, per-rule counts equal to nft's counters, labels as documented, and pass promtool check metrics; scrapes during a 50k pps run cost no packet; bad --metrics-listen values and a port in use give one line and exit 2/1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  Netns,
  makeTempDir,
  nftLoggedCounter,
  parsePrometheusText,
  promtoolCheckMetrics,
  requirePrereqs,
  runTool,
  sampleKey,
  scrape,
  sendTraffic,
  waitForLogCounters,
  type ChildHandle,
  type MetricSamples,
  type ToolName,
} from '@nflog-pipe/testing';

const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 counter log prefix "svc=dns;dir=out" group 7
    udp dport 9001 counter log prefix "svc=web;dir=in" group 8
  }
}
`;

/** The `/metrics` URL a daemon logged at start. */
async function metricsUrl(h: ChildHandle): Promise<string> {
  const m = await h.waitForStderr(/ metrics listening .*url=(\S+)/);
  return m[1]!;
}

/** One scrape, checked by promtool (no errors, no lint findings), as samples. */
async function scrapeChecked(url: string, what: string, ns?: Netns): Promise<MetricSamples> {
  const text = await scrape(url, ns);
  const lint = await promtoolCheckMetrics(text);
  assert.deepEqual(lint, { code: 0, output: '' }, `promtool check metrics on the ${what}'s scrape`);
  return parsePrometheusText(text);
}

function value(s: MetricSamples, name: string, labels: Record<string, string> = {}): number {
  const v = s.get(sampleKey(name, labels));
  assert.notEqual(v, undefined, `${sampleKey(name, labels)} in ${[...s.keys()].join(' ')}`);
  return v!;
}

const P = 'nflog_pipe_packets_total';
const B = 'nflog_pipe_bytes_total';
const L = 'nflog_pipe_lost_packets_total';

test('every daemon exports the pipe: stage counts equal the packets sent, accounting by rule equals nft, promtool agrees', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'promtool'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('prom');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const kids = new Children(t);
  const ep = (n: string): string => `ipc://${join(dir, `${n}.sock`)}`;
  const out = join(dir, 'out.pcap');
  const listen = ['--metrics-listen', '127.0.0.1:0'];
  const recv = await kids.start(
    'nflog-pcap-recv',
    [ep('recv'), out, '--linktype', '101', '--stats-interval', '0.05', ...listen],
    / started /,
  );
  const decomp = await kids.start(
    'nflog-zmq-decompress',
    [ep('decomp'), ep('recv'), ...listen],
    / relaying /,
  );
  const comp = await kids.start(
    'nflog-zmq-compress',
    [ep('comp'), ep('decomp'), '--hwm', '0', ...listen],
    / relaying /,
  );
  const sender = await kids.start(
    'nflog-zmq-send',
    ['7,8', ep('comp'), '--flush-interval', '0', '--stats-interval', '0', ...listen],
    / started /,
    ns,
  );
  const senderId = / sender=([0-9a-f]{16})/.exec(sender.stderr())?.[1];
  assert.ok(senderId !== undefined);

  const dns = await sendTraffic(ns, { proto: 'udp', port: 9000, count: 200, size: 100, seed: 1 });
  const web = await sendTraffic(ns, { proto: 'udp', port: 9001, count: 120, size: 700, seed: 2 });
  const n = dns.sent + web.sent;
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === n, `receiver wrote ${n}`);
  const nftDns = await nftLoggedCounter(ns, 7);
  const nftWeb = await nftLoggedCounter(ns, 8);
  assert.deepEqual([nftDns.packets, nftWeb.packets], [dns.sent, web.sent]);

  const s = await scrapeChecked(await metricsUrl(sender), 'sender', ns);
  assert.equal(value(s, P, { stage: 'captured' }), n);
  assert.equal(value(s, P, { stage: 'sent' }), n);
  assert.equal(value(s, B, { stage: 'captured' }), nftDns.bytes + nftWeb.bytes);
  for (const stage of ['kernel', 'zmq_queue']) assert.equal(value(s, L, { stage }), 0, stage);
  const logged = (name: string, group: string, prefix: string): number =>
    value(s, `nflog_pipe_logged_${name}_total`, { group, prefix });
  assert.deepEqual(
    [logged('packets', '7', 'svc=dns;dir=out'), logged('bytes', '7', 'svc=dns;dir=out')],
    [nftDns.packets, nftDns.bytes],
  );
  assert.deepEqual(
    [logged('packets', '8', 'svc=web;dir=in'), logged('bytes', '8', 'svc=web;dir=in')],
    [nftWeb.packets, nftWeb.bytes],
  );
  assert.equal(value(s, 'nflog_pipe_accounting_series'), 2);
  for (const group of ['7', '8'])
    assert.equal(value(s, 'nflog_pipe_group_lost_packets_total', { group }), 0);
  assert.equal(value(s, 'nflog_pipe_connected_peers', { socket: 'push' }), 1);
  assert.ok([...s.keys()].some((k) => k.startsWith('nflog_pipe_build_info{')));
  assert.ok(s.has('process_cpu_seconds_total') && s.has('nodejs_eventloop_lag_seconds'));
  assert.ok(![...s.keys()].some((k) => /^nodejs_active_\w+_total/.test(k)));

  const c = await scrapeChecked(await metricsUrl(comp), 'compress relay');
  assert.deepEqual(
    [P, P, L, L, 'nflog_pipe_bad_frames_total'].map((name, i) =>
      value(
        c,
        name,
        [
          { stage: 'compress_in' },
          { stage: 'compress_out' },
          { stage: 'shaper' },
          { stage: 'zmq_queue' },
          {},
        ][i],
      ),
    ),
    [n, n, 0, 0, 0],
  );
  assert.equal(value(c, 'nflog_pipe_connected_peers', { socket: 'pull' }), 1);
  assert.equal(value(c, 'nflog_pipe_connected_peers', { socket: 'push' }), 1);
  const d = await scrapeChecked(await metricsUrl(decomp), 'decompress relay');
  assert.deepEqual(
    [value(d, P, { stage: 'decompress_in' }), value(d, P, { stage: 'decompress_out' })],
    [n, n],
  );
  assert.equal(value(d, L, { stage: 'zmq_queue' }), 0);

  const r = await scrapeChecked(await metricsUrl(recv), 'receiver');
  assert.equal(value(r, P, { stage: 'received' }), n);
  assert.equal(value(r, P, { stage: 'written', output: 'file' }), n);
  assert.equal(
    value(r, B, { stage: 'written', output: 'file' }),
    value(r, B, { stage: 'received' }),
  );
  assert.equal(value(r, L, { stage: 'network' }), 0);
  assert.equal(value(r, L, { stage: 'fifo', output: 'file' }), 0);
  const who = { sender_id: senderId, sender_host: hostname() };
  assert.equal(value(r, 'nflog_pipe_sender_packets_total', who), n);
  assert.equal(value(r, 'nflog_pipe_sender_lost_packets_total', who), 0);
  assert.equal(value(r, 'nflog_pipe_senders'), 1);
  assert.equal(value(r, 'nflog_pipe_connected_peers', { socket: 'pull' }), 1);
  // One observation per batch: at least one, at most one per packet, none negative or stale.
  const batches = value(r, 'nflog_pipe_delivery_delay_seconds_count');
  assert.ok(batches >= 1 && batches <= n, `delay observations ${batches}`);
  assert.equal(value(r, 'nflog_pipe_delivery_delay_seconds_bucket', { le: '60' }), batches);
  assert.equal((await readPcapFile(out)).records.length, n);
});

test('--prefix-labels turns key=value prefixes into labels; --max-series folds further rules into group="other"', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'promtool'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('promlab');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const kids = new Children(t);
  // No receiver: what the sender cannot queue is dropped and counted; accounting is upstream.
  const sender = await kids.start(
    'nflog-zmq-send',
    ['7,8', `ipc://${join(dir, 'none.sock')}`, '--metrics-listen', '127.0.0.1:0'].concat([
      '--stats-interval',
      '0.05',
      '--prefix-labels',
      '--max-series',
      '1',
    ]),
    / started /,
    ns,
  );
  const url = await metricsUrl(sender);
  // The first rule's packets are read first, so the second rule is the key beyond --max-series 1.
  const dns = await sendTraffic(ns, { proto: 'udp', port: 9000, count: 30, size: 50, seed: 3 });
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === dns.sent, 'first rule read');
  const web = await sendTraffic(ns, { proto: 'udp', port: 9001, count: 20, size: 50, seed: 4 });
  const n = dns.sent + web.sent;
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === n, 'both rules read');
  const nftDns = await nftLoggedCounter(ns, 7);
  const nftWeb = await nftLoggedCounter(ns, 8);
  const s = await scrapeChecked(url, 'sender', ns);
  const dnsLabels = { group: '7', svc: 'dns', dir: 'out' };
  assert.equal(value(s, 'nflog_pipe_logged_packets_total', dnsLabels), nftDns.packets);
  assert.equal(value(s, 'nflog_pipe_logged_bytes_total', dnsLabels), nftDns.bytes);
  assert.equal(value(s, 'nflog_pipe_logged_packets_total', { group: 'other' }), nftWeb.packets);
  assert.equal(value(s, 'nflog_pipe_logged_bytes_total', { group: 'other' }), nftWeb.bytes);
  assert.equal(value(s, 'nflog_pipe_accounting_series'), 1);
  assert.ok(![...s.keys()].some((k) => k.includes('prefix=')), 'no raw prefix label');
});

test('scrapes every 100 ms during a 50k pps run cost no packet', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'promtool'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('promrate');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const kids = new Children(t);
  const ep = `ipc://${join(dir, 'recv.sock')}`;
  const listen = ['--metrics-listen', '127.0.0.1:0'];
  const recv = await kids.start(
    'nflog-pcap-recv',
    [ep, join(dir, 'out.pcap'), '--linktype', '101', '--stats-interval', '0.1', ...listen],
    / started /,
  );
  const sender = await kids.start(
    'nflog-zmq-send',
    ['7,8', ep, '--stats-interval', '0', ...listen],
    / started /,
    ns,
  );
  const [recvUrl, senderUrl] = [await metricsUrl(recv), await metricsUrl(sender)];
  const count = 100_000;
  let done = false;
  const traffic = sendTraffic(ns, {
    proto: 'udp',
    port: 9000,
    count,
    size: 64,
    seed: 5,
    ratePps: 50_000,
  }).finally(() => (done = true));
  let scrapes = 0;
  // Bounded: the traffic takes ~2 s and sendTraffic itself is capped at 60 s.
  while (!done && scrapes < 1200) {
    await Promise.all([scrape(senderUrl, ns), scrape(recvUrl), delay(100)]);
    scrapes++;
  }
  const { sent } = await traffic;
  assert.equal(sent, count);
  assert.ok(scrapes >= 5, `scraped ${scrapes} times during the run`);
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === count, `receiver wrote ${count}`);
  const s = await scrapeChecked(senderUrl, 'sender', ns);
  const r = await scrapeChecked(recvUrl, 'receiver');
  assert.equal((await nftLoggedCounter(ns, 7)).packets, count);
  assert.equal(value(s, P, { stage: 'captured' }), count);
  assert.equal(
    value(s, 'nflog_pipe_logged_packets_total', { group: '7', prefix: 'svc=dns;dir=out' }),
    count,
  );
  for (const stage of ['kernel', 'zmq_queue']) assert.equal(value(s, L, { stage }), 0, stage);
  assert.equal(value(r, P, { stage: 'written', output: 'file' }), count);
  assert.equal(value(r, L, { stage: 'network' }), 0);
});

test('bad --metrics-listen is a usage error (exit 2), a port in use a runtime error (exit 1), one line each, on every daemon', async (t) => {
  const dir = await makeTempDir(t);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as { port: number }).port;
  const ep = (n: string): string => `ipc://${join(dir, `${n}.sock`)}`;
  const tools: Array<[ToolName, string[]]> = [
    ['nflog-zmq-send', ['7', ep('a')]],
    ['nflog-pcap-recv', [ep('b'), join(dir, 'out.pcap')]],
    ['nflog-zmq-compress', [ep('c'), ep('d')]],
    ['nflog-zmq-decompress', [ep('e'), ep('f')]],
  ];
  for (const [tool, args] of tools) {
    for (const bad of ['http://x', '99999', 'host:', ':9100', '[::1]']) {
      const r = await runTool(tool, [...args, '--metrics-listen', bad]);
      assert.equal(r.code, 2, `${tool} --metrics-listen ${bad}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^${tool}: .*--metrics-listen.*\\n$`));
    }
    const r = await runTool(tool, [...args, '--metrics-listen', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1, `${tool}, port in use: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^${tool}: --metrics-listen 127\\.0\\.0\\.1:${port}: cannot listen: listen EADDRINUSE\\b[^\\n]*\\n$`,
      ),
    );
  }
});
