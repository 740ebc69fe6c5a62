// Failover through the kernel and the real receivers: one of three receivers is SIGKILLed while TCP flows run; after --shard-failover its flows arrive at the other two, flows of the live shards never move, and every packet the rules logged is in a receiver's file, counted as a sender drop, or below the restarted receiver's first_seq (in flight at the kill); restarted, it gets its flows back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Children,
  Netns,
  TEST_TIMEOUT_MS,
  logField,
  makeTempDir,
  nftLogged,
  parseLogCounters,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
  withTimeout,
} from '@nflog-pipe/testing';
import {
  TCP_PORT,
  endpointsIn,
  expectedShard,
  flowOf,
  flowRuleset,
  perShard,
  recordsOf,
  startReceiver,
  type TestReceiver,
} from './shard-helper.js';

const GROUP = 5;
const VICTIM = 1;
const FAILOVER_S = 1;
/** Flows before the kill, during the outage (paced: the kill and the failover happen meanwhile), and after the return. */
const BEFORE = 150;
const DURING = 600;
const DURING_PPS = 200;
const AFTER = 150;
const SIZE = 100;
/**
 * The documented bound on what a dying receiver takes with it over ipc (as the receiver-restart
 * test): the sender's ZMQ_SNDBUF (doubled by the kernel), the receiver's ZeroMQ queue and the
 * frame it handles and one in its writer, each at most --batch-bytes, over the smallest record of
 * these flows (16 + 20 + 20 bytes: a bare TCP segment).
 */
const BOUND_PACKETS = Math.floor((2 * 0.25 * 1024 * 1024 + (124 + 2) * 256 * 1024) / 56);

/** The client's port of a packet of these flows (the server's is TCP_PORT, below every client's). */
function clientPort(ip: Buffer): number {
  const l4 = ip.subarray((ip[0]! & 0x0f) * 4);
  return Math.max(l4.readUInt16BE(0), l4.readUInt16BE(2));
}

test('a receiver killed mid-run: its flows move to the other two after the failover time, return after its restart, and every lost packet is counted', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('failover');
  t.after(() => ns.remove());
  await ns.nft(flowRuleset(GROUP));
  const kids = new Children(t);
  const { endpoints, files } = endpointsIn(dir, 3);
  const restartFile = `${files[VICTIM]!}.2`;
  const receivers: TestReceiver[] = await Promise.all(
    endpoints.map((e, i) => startReceiver(kids, e, files[i]!)),
  );
  const sender = await kids.start(
    'nflog-zmq-send',
    [
      String(GROUP),
      ...endpoints,
      '--shard-failover',
      String(FAILOVER_S),
      '--stats-interval',
      '0.05',
    ],
    / started /,
    ns,
  );
  const flows = (count: number, srcPort: number, ratePps?: number): Promise<{ sent: number }> =>
    withTimeout(
      sendTraffic(ns, {
        proto: 'flows',
        count,
        size: SIZE,
        port: TCP_PORT,
        srcPort,
        ...(ratePps !== undefined ? { ratePps } : {}),
      }),
      2 * TEST_TIMEOUT_MS,
      'flows',
    );

  assert.equal((await flows(BEFORE, 20000)).sent, BEFORE);
  const victim = receivers[VICTIM]!;
  const before = await waitForLogCounters(
    victim.handle,
    'stats',
    (c) => c['in_pkt']! >= 100,
    'the victim has flows',
  );
  // Mid-run: the next flows are already going when the receiver dies.
  const during = flows(DURING, 21000, DURING_PPS);
  during.catch(() => {}); // awaited below
  await waitForLogCounters(
    victim.handle,
    'stats',
    (c) => c['in_pkt']! > before['in_pkt']! + 20,
    'the victim takes outage-phase flows',
  );
  victim.handle.kill('SIGKILL');
  assert.equal(
    (await withTimeout(victim.handle.exited, TEST_TIMEOUT_MS, 'kill')).signal,
    'SIGKILL',
  );
  const out = await sender.waitForStderr(/WARN nflog-zmq-send: shard out: .*/);
  assert.equal(logField(out[0], 'shard'), String(VICTIM));
  assert.match(out[0], / why="no receiver" /);
  assert.ok(Number(logField(out[0], 'after_ms')) >= FAILOVER_S * 1000);
  assert.equal((await during).sent, DURING);

  const restarted = await startReceiver(kids, endpoints[VICTIM]!, restartFile);
  const warned = await restarted.handle.waitForStderr(
    /WARN nflog-pcap-recv: sender already past sequence 0: .* first_seq=(\d+)/,
  );
  const firstSeq = Number(warned[1]);
  const back = await sender.waitForStderr(/INFO nflog-zmq-send: shard back: .*/);
  assert.equal(logField(back[0], 'shard'), String(VICTIM));
  assert.equal((await flows(AFTER, 22000)).sent, AFTER);

  const logged = await nftLogged(ns, GROUP);
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === logged, 'sender read all');
  const stopped = await stopCleanly(sender, 'the sender');
  const s = parseLogCounters(stopped);
  const shards = perShard(stopped);
  assert.equal(s['shard_moves'], 2, 'out once, back once');
  assert.deepEqual(
    shards.map((x) => x.state),
    ['in', 'in', 'in'],
  );
  assert.equal(s['dropped_kernel'], 0);
  // Every packet read went to one shard and was queued there or dropped and counted.
  assert.equal(
    shards.reduce((n, x) => n + x.routed, 0),
    logged,
  );
  for (const x of shards) assert.equal(x.routed, x.queued + x.droppedQueue);

  // The live shards' receivers have exactly what their shards queued; the restarted one has
  // everything from first_seq on (gaps there are the sender's counted drops).
  const live = [0, 1, 2].filter((i) => i !== VICTIM);
  for (const i of live) {
    await waitForLogCounters(
      receivers[i]!.handle,
      'stats',
      (c) => c['in_pkt'] === shards[i]!.queued,
      `receiver ${i}`,
    );
    const c = parseLogCounters(await stopCleanly(receivers[i]!.handle, `receiver ${i}`));
    assert.equal(c['loss_network_pkt'], 0);
  }
  const numbered = shards[VICTIM]!.routed;
  const r2 = await waitForLogCounters(
    restarted.handle,
    'stats',
    (c) => c['in_pkt']! + c['loss_network_pkt']! === numbered - firstSeq,
    'the restarted receiver has everything from first_seq on',
  );
  await stopCleanly(restarted.handle, 'the restarted receiver');

  const got = [...files.map((f) => recordsOf(f)), recordsOf(restartFile)];
  const atVictim = [VICTIM, 3];
  const total = got.reduce((n, p) => n + p.length, 0);
  // What no file has: the victim shard's counted drops, and what was in flight at the kill,
  // numbered below first_seq but neither in its first file nor a counted drop there.
  const dropsBelowFirstSeq = shards[VICTIM]!.droppedQueue - r2['loss_network_pkt']!;
  const inFlight = firstSeq - got[VICTIM]!.length - dropsBelowFirstSeq;
  assert.ok(inFlight >= 0, `nothing twice: ${got[VICTIM]!.length} below first_seq ${firstSeq}`);
  assert.ok(inFlight <= BOUND_PACKETS, `in flight ${inFlight} within ${BOUND_PACKETS}`);
  assert.equal(total + s['dropped_queue']! + inFlight, logged, 'every logged packet accounted for');

  // Where each flow went: a live shard's flows only ever at their receiver; the victim's at it
  // (before the kill, queued for its return, or after it) or at the shard they moved to.
  const liveSet = [0, 1, 2].map((i) => i !== VICTIM);
  let moved = 0;
  let returned = 0;
  const movedTo = new Set<number>();
  const byFlow = new Map<string, { ip: Buffer; at: Set<number> }>();
  got.forEach((recs, r) => {
    for (const ip of recs) {
      const f = flowOf(ip);
      let e = byFlow.get(f);
      if (e === undefined) byFlow.set(f, (e = { ip, at: new Set() }));
      e.at.add(r);
    }
  });
  for (const [flow, { ip, at }] of byFlow) {
    const home = expectedShard(ip, endpoints);
    if (home !== VICTIM) {
      assert.deepEqual([...at], [home], `${flow} of live shard ${home} never moved`);
      continue;
    }
    const refuge = expectedShard(ip, endpoints, liveSet);
    for (const r of at) assert.ok(atVictim.includes(r) || r === refuge, `${flow} at ${r}`);
    if (at.size === 1 && at.has(refuge)) {
      moved++;
      movedTo.add(refuge);
    }
    if (at.size === 1 && at.has(3) && clientPort(ip) >= 22000) returned++;
  }
  assert.ok(moved > 0, 'flows of the dead receiver went to the others');
  assert.deepEqual([...movedTo].sort(), live, 'to both of them');
  assert.ok(returned > 0, 'flows after the return are at the restarted receiver');
  t.diagnostic(
    `files=${got.map((p) => p.length).join('/')} drops=${s['dropped_queue']} in_flight=${inFlight} moved=${moved} returned=${returned}`,
  );
});
