// Proves nflog-pcap-recv's reorder window as a process: a record later than the window is still written, stamped with the last timestamp written, and counted (stats line, statsd, Prometheus), while the ring's dump keeps its own timestamp; a sender whose delay bound exceeds the window is warned about once; bad --reorder-* values are usage errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Request } from 'zeromq';
import { readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import { encodeFrame } from '@nflog-pipe/shared';
import {
  StatsdListener,
  TEST_TIMEOUT_MS,
  makeTempDir,
  parsePrometheusText,
  runTool,
  sampleKey,
  scrape,
  stopCleanly,
  parseLogCounters,
  waitForLogCounters,
} from '@nflog-pipe/testing';
import { pushSocket, startReceiver } from './e2e-util.js';
import { liveRecords, numbered, records } from './helpers.js';

const ids = (recs: { data: Buffer }[]): number[] => recs.map((r) => r.data.readUInt32BE(28));
const stamps = (recs: { tsSec: number; tsFrac: number }[]): number[][] =>
  recs.map((r) => [r.tsSec, r.tsFrac]);

test('a late record is written stamped with the last timestamp written and counted everywhere; the ring keeps its own', async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const q = `ipc://${join(dir, 'q.sock')}`;
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const recv = await startReceiver(t, [
    ep,
    out,
    '--reorder-window',
    '50',
    '--buffer-interface',
    q,
    '--stats-interval',
    '0.05',
    '--metrics-listen',
    '127.0.0.1:0',
    ...statsd.cliArgs('t.'),
  ]);
  assert.match(recv.stderr(), / started .*reorder_window_ms=50 /);
  const push = pushSocket(t, ep);
  const first = liveRecords([numbered(0)]);
  await push.send(encodeFrame({ linktype: 101, senderId: 1n, firstSeq: 0n, count: 1 }, first));
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === 1, 'the first record out');
  // Another sender's record, logged 10 s before the one already written: it missed its place.
  const tsSec = first.readUInt32LE(0) - 10;
  await push.send(
    encodeFrame(
      { linktype: 101, senderId: 2n, firstSeq: 0n, count: 1 },
      records([numbered(1)], tsSec, 123),
    ),
  );
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['out_pkt'] === 2 && c['reorder_late_pkt'] === 1,
    'the late record out and counted',
  );

  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const dump = readPcap(Buffer.concat(await req.receive()));
  const url = (await recv.waitForStderr(/ metrics listening .*url=(\S+)/))[1]!;
  const samples = parsePrometheusText(await scrape(url));
  await statsd.waitFor('t.reorder.late.pkt', (v) => v === 1);
  const stopped = parseLogCounters(await stopCleanly(recv, 'the receiver'));

  const file = await readPcapFile(out);
  const firstStamp = [first.readUInt32LE(0), first.readUInt32LE(4)];
  assert.deepEqual(ids(file.records), [0, 1]);
  assert.deepEqual(stamps(file.records), [firstStamp, firstStamp], 'never earlier than the last');
  assert.deepEqual(ids(dump.records), [0, 1]);
  assert.deepEqual(stamps(dump.records), [firstStamp, [tsSec, 123]], 'the ring keeps its own');
  assert.deepEqual(
    [
      stopped['in_pkt'],
      stopped['out_pkt'],
      stopped['reorder_late_pkt'],
      stopped['reorder_restamped_pkt'],
      stopped['reorder_held_pkt'],
    ],
    [2, 2, 1, 0, 0],
  );
  assert.equal(samples.get(sampleKey('nflog_pipe_reorder_packets_total', { outcome: 'late' })), 1);
  assert.equal(
    samples.get(sampleKey('nflog_pipe_reorder_packets_total', { outcome: 'overflow' })),
    0,
  );
  assert.equal(samples.get(sampleKey('nflog_pipe_reorder_held_packets', {})), 0);
  // Written, not lost: no loss stage counts it.
  assert.equal(
    [...samples.keys()].filter(
      (k) => k.startsWith('nflog_pipe_lost_packets_total') && samples.get(k) !== 0,
    ).length,
    0,
  );
});

test('a sender whose delay bound exceeds the window is warned about once; alone, its frames pass as they came', async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [
    ep,
    out,
    '--reorder-window',
    '50',
    '--stats-interval',
    '0.05',
  ]);
  const push = pushSocket(t, ep);
  const namespaceId = Buffer.alloc(24, 7);
  for (const [i, senderId] of [1n, 1n].entries()) {
    const seqGlobal = Buffer.alloc(4);
    seqGlobal.writeUInt32LE(i + 1);
    await push.send(
      encodeFrame(
        {
          linktype: 101,
          senderId,
          firstSeq: BigInt(i),
          count: 1,
          order: { namespaceId, delayBoundMs: 500, seqGlobal },
        },
        liveRecords([numbered(i)]),
      ),
    );
  }
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === 2, 'both out');
  const stopped = parseLogCounters(await stopCleanly(recv, 'the receiver'));
  assert.equal(
    recv
      .stderr()
      .match(/a sender's delay bound exceeds --reorder-window.* delay_bound_ms=500 window_ms=50/g)
      ?.length,
    1,
  );
  assert.deepEqual(ids((await readPcapFile(out)).records), [0, 1]);
  assert.deepEqual([stopped['reorder_late_pkt'], stopped['reorder_restamped_pkt']], [0, 0]);
});

test('--reorder-window and --reorder-buffer: bad values are usage errors, one line each', async () => {
  for (const args of [
    ['--reorder-window', '-1'],
    ['--reorder-window', '1.5'],
    ['--reorder-window', 'soon'],
    ['--reorder-window', '60001'],
    ['--reorder-buffer', '0'],
  ]) {
    const r = await runTool('nflog-pcap-recv', ['ipc:///tmp/nfp-unused.sock', '-', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^nflog-pcap-recv: .*reorder.*\n$/);
  }
});
