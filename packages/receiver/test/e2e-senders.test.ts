// End to end through the kernel with two real senders on one-frame queues, one restarted, and a gap made by stopping the receiver right before the senders stop: the receiver's network loss equals each sender's counted queue drops exactly (tail drops included, shown by the stop heartbeat), its output holds exactly what the senders sent, and the senders read exactly what nft logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  Children,
  Netns,
  StatsdListener,
  logField,
  logLines,
  makeTempDir,
  nftLogged,
  parseLogCounters,
  pause,
  requirePrereqs,
  resume,
  sendTraffic,
  stopCleanly,
  tcpdumpRead,
  waitForLogCounters,
  type ChildHandle,
  type LogCounters,
} from '@nflog-pipe/testing';
import { perSender, udpIds } from './e2e-util.js';

/** Group → UDP port of the datagrams its rule logs. */
const GROUPS = [
  { group: 7, port: 9000 },
  { group: 8, port: 9001 },
] as const;
const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
${GROUPS.map((g) => `    udp dport ${g.port} counter log group ${g.group}`).join('\n')}
  }
}
`;
const SIZE = 1000;
/**
 * The phases, per group: before the restart, after it, and while the receiver is stopped (fast,
 * to overflow the senders' queues). The senders stop right after the receiver resumes: no later
 * frame shows the gap's drops, only the senders' stop heartbeats do.
 */
const PHASES = { before: 400, after: 300, gap: 2500 } as const;
const PACED_PPS = 1000;
/**
 * Sender queue and frame size: frames of 4 KB, one of them queued, so a sender drops whenever its
 * ZeroMQ I/O thread lags by one kernel read, in any phase, also in its last frames before it
 * stops (the restart, the end). Every such drop must still reach the receiver's count.
 */
const ZMQ_BUFFER = 1;
const BATCH_PACKETS = 4;
/**
 * Senders' --zmq-linger, seconds: how long the stop heartbeat may wait for room in the queue and
 * the queued frames for the receiver; generous, as the receiver drains its backlog first.
 */
const SENDER_LINGER_S = 10;
const TOTAL = PHASES.before + PHASES.after + PHASES.gap;

/** Payload seed of a phase's datagrams for a group: group·10 + phase number. */
const seedOf = (group: number, phase: number): number => group * 10 + phase;

test('two senders, one restarted, a gap while the receiver is stopped: loss = counted sender drops, exactly', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('rsnd');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const kids = new Children(t);
  const endpoint = `ipc://${join(dir, 'r.sock')}`; // a path: reachable across the netns
  const out = join(dir, 'out.pcap'); // a regular file: no FIFO effects on the counts

  const recv = await kids.start(
    'nflog-pcap-recv',
    [endpoint, out, '--linktype', '101', '--stats-interval', '0.05', ...statsd.cliArgs('t.', 0.1)],
    / started /,
  );
  const startSender = (group: number): Promise<ChildHandle> =>
    kids.start(
      'nflog-zmq-send',
      [
        String(group),
        endpoint,
        '--zmq-buffer',
        String(ZMQ_BUFFER),
        '--batch-packets',
        String(BATCH_PACKETS),
        '--flush-interval',
        '0',
        '--stats-interval',
        '0.05',
        '--zmq-linger',
        String(SENDER_LINGER_S),
      ],
      / started /,
      ns,
    );
  const idOf = (h: ChildHandle): string => {
    const id = logField(logLines(h.stderr(), 'started')[0] ?? '', 'sender');
    assert.ok(id !== undefined && /^[0-9a-f]{16}$/.test(id), `sender id in ${h.stderr()}`);
    return id;
  };
  // Per group: how many datagrams it has been sent so far, and its current sender.
  const offered = new Map<number, number>(GROUPS.map((g) => [g.group, 0]));
  const current = new Map<number, ChildHandle>();
  for (const g of GROUPS) current.set(g.group, await startSender(g.group));

  const traffic = async (phase: number, count: number, ratePps?: number): Promise<void> => {
    const sent = await Promise.all(
      GROUPS.map((g) =>
        sendTraffic(ns, {
          proto: 'udp',
          family: 4,
          port: g.port,
          count,
          size: SIZE,
          seed: seedOf(g.group, phase),
          ...(ratePps !== undefined ? { ratePps } : {}),
        }),
      ),
    );
    for (const [i, g] of GROUPS.entries()) {
      assert.equal(sent[i]!.sent, count);
      offered.set(g.group, offered.get(g.group)! + count);
    }
  };
  // Resolves once every current sender has read all datagrams of its group so far (what it
  // has not read at SIGTERM would be neither captured nor counted). `since` is what its group
  // had been offered when that sender started.
  const since = new Map<number, number>(GROUPS.map((g) => [g.group, 0]));
  const sendersCaughtUp = async (): Promise<LogCounters[]> =>
    Promise.all(
      GROUPS.map((g) =>
        waitForLogCounters(
          current.get(g.group)!,
          'stats',
          (c) =>
            c['captured']! + c['dropped_kernel']! === offered.get(g.group)! - since.get(g.group)!,
          `sender of group ${g.group} read ${offered.get(g.group)! - since.get(g.group)!}`,
        ),
      ),
    );

  const finals: Array<{ group: number; id: string; c: LogCounters }> = [];
  const stopSender = async (group: number): Promise<void> => {
    const h = current.get(group)!;
    const line = await stopCleanly(h, `sender of group ${group}`);
    finals.push({ group, id: idOf(h), c: parseLogCounters(line) });
  };

  // 1. Both senders, paced.
  await traffic(1, PHASES.before, PACED_PPS);
  await sendersCaughtUp();
  // 2. Restart the sender of the first group between bursts (nothing of its group is in flight),
  //    then more traffic for both.
  const g0 = GROUPS[0].group;
  await stopSender(g0);
  since.set(g0, offered.get(g0)!);
  current.set(g0, await startSender(g0));
  await traffic(2, PHASES.after, PACED_PPS);
  await sendersCaughtUp();
  // 3. The gap: the receiver stops reading; the senders' queues overflow and drop, counted.
  await pause(recv);
  await traffic(3, PHASES.gap);
  const atGap = await sendersCaughtUp();
  for (const [i, c] of atGap.entries())
    assert.ok(c['dropped_queue']! > 0, `sender of group ${GROUPS[i]!.group} dropped in the gap`);
  // 4. The receiver reads again and the senders stop at once: their last frames were dropped
  //    and no later frame will follow; the stop heartbeat must show the receiver the gap.
  resume(recv);
  for (const g of GROUPS) await stopSender(g.group);

  const sum = (k: string): number => finals.reduce((a, f) => a + f.c[k]!, 0);
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['in_pkt']! + c['loss_network_pkt']! === sum('captured'),
    `receiver has accounted for every packet the senders read (${JSON.stringify(finals)})`,
  );
  const line = await stopCleanly(recv, 'receiver');
  const r = parseLogCounters(line);

  // Each sender's own books balance, and its stop heartbeat was queued (not warned about).
  for (const f of finals) {
    assert.equal(f.c['captured'], f.c['queued']! + f.c['dropped_queue']! + f.c['dropped_shaper']!);
    assert.equal(f.c['dropped_shaper'], 0);
    assert.ok(f.c['heartbeats']! >= 1, `sender ${f.id}: heartbeats ${f.c['heartbeats']}`);
  }
  // The kernel side: nft logged what the generator sent; the senders read it all but kernel drops.
  for (const g of GROUPS) assert.equal(await nftLogged(ns, g.group), TOTAL, `nft group ${g.group}`);
  assert.equal(sum('captured'), GROUPS.length * TOTAL - sum('dropped_kernel'));
  // The receiver: network loss = the senders' counted drops; in = what the senders sent.
  assert.equal(r['loss_network_pkt'], sum('dropped_queue') + sum('dropped_shaper'));
  assert.deepEqual(
    [
      r['in_pkt'],
      r['out_pkt'],
      r['loss_fifo_pkt'],
      r['queued_pkt'],
      r['bad_frames'],
      r['behind_frames'],
      r['senders'],
    ],
    [sum('queued'), sum('queued'), 0, 0, 0, 0, 3],
  );
  // Per sender, by id: packets = its sent, lost = its counted drops.
  const ps = perSender(line);
  assert.deepEqual(
    Object.fromEntries(finals.map((f) => [f.id, ps[f.id]])),
    Object.fromEntries(
      finals.map((f) => [
        f.id,
        { packets: f.c['queued'], lost: f.c['dropped_queue']! + f.c['dropped_shaper']! },
      ]),
    ),
  );
  // Three distinct senders announced, each from its first packet.
  const announced = logLines(recv.stderr(), 'new sender');
  assert.deepEqual(
    announced.map((l) => logField(l, 'sender')).sort(),
    finals.map((f) => f.id).sort(),
  );
  assert.equal(new Set(finals.map((f) => f.id)).size, 3);
  for (const l of announced) assert.equal(logField(l, 'first_seq'), '0', l);

  // The output file: every packet the senders sent, byte-exact, in order per group.
  const ids = await udpIds(out, SIZE);
  assert.equal(ids.length, sum('queued'));
  assert.equal((await tcpdumpRead(out)).count, sum('queued'));
  for (const g of GROUPS) {
    const mine = ids.filter((id) => id.dport === g.port);
    const keys = mine.map((id) => (id.seed - seedOf(g.group, 0)) * 1e6 + id.index);
    for (let i = 1; i < keys.length; i++)
      assert.ok(keys[i]! > keys[i - 1]!, `group ${g.group}: order at ${i}`);
    const fs = finals.filter((f) => f.group === g.group);
    const sentG = fs.reduce((a, f) => a + f.c['queued']!, 0);
    const dropsG = fs.reduce((a, f) => a + f.c['dropped_queue']! + f.c['dropped_kernel']!, 0);
    assert.equal(mine.length, sentG, `group ${g.group}: packets in the output`);
    assert.equal(TOTAL - mine.length, dropsG, `group ${g.group}: missing = counted drops`);
  }
  await statsd.waitFor('t.loss.network.pkt', (v) => v === r['loss_network_pkt']);
  t.diagnostic(
    `logged=${GROUPS.length}x${TOTAL} senders=${finals
      .map(
        (f) =>
          `${f.group}:${f.c['captured']}/${f.c['queued']}/${f.c['dropped_queue']}/${f.c['dropped_kernel']}`,
      )
      .join(
        ',',
      )} (captured/sent/dropped_queue/dropped_kernel) recv in=${r['in_pkt']} loss_network=${r['loss_network_pkt']}`,
  );
});
