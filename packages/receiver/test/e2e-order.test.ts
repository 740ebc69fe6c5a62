// Through the kernel, real senders into one receiver: two namespaces with skewed flush timing give a FIFO stream of 40,000 packets with no backward timestamp step, each packet once and byte-exact, while the ring (arrival order) shows the skew; TCP flows whose two directions are logged to two groups reach the FIFO in kernel order, 50 of 50, read by one sender or by two senders of that namespace merged by NFULA_SEQ_GLOBAL.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { readPcapFile, type PcapRecord } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  inKernelOrder,
  requirePrereqs,
  sendTraffic,
  tcpDirectionsRuleset,
  tcpFlows,
} from '@nflog-pipe/testing';
import { runPipe, udpIds, type PipeRun } from './e2e-util.js';

const usOf = (r: PcapRecord): number => r.tsSec * 1e6 + r.tsFrac;

/** Backward timestamp steps in `recs`: how many, and the largest, µs. */
function backSteps(recs: readonly PcapRecord[]): { steps: number; maxUs: number } {
  let steps = 0;
  let maxUs = 0;
  for (let i = 1; i < recs.length; i++) {
    const d = usOf(recs[i - 1]!) - usOf(recs[i]!);
    if (d > 0) {
      steps++;
      maxUs = Math.max(maxUs, d);
    }
  }
  return { steps, maxUs };
}

/** The receiver's books: every packet in went out (none held, queued or lost). */
function assertDelivered(r: PipeRun, fifo: readonly PcapRecord[]): void {
  const c = r.recv;
  assert.deepEqual(
    [
      c['in_pkt'],
      c['out_pkt'],
      c['loss_fifo_pkt'],
      c['queued_pkt'],
      c['reorder_held_pkt'],
      c['bad_frames'],
      c['loss_network_pkt'],
    ],
    [r.logged, r.logged, 0, 0, 0, 0, 0],
    JSON.stringify(c),
  );
  for (const s of r.senders) assert.equal(s['dropped_kernel'], 0, JSON.stringify(s));
  assert.equal(fifo.length, r.logged);
}

const PER_NS = 20_000;
const SIZE = 64;
const PORT = 9000;

test('two senders in two namespaces, skewed flush timing: 40,000 packets in the FIFO, no timestamp steps back, each once, byte-exact', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const a = await Netns.create('ord-a');
  t.after(() => a.remove());
  const b = await Netns.create('ord-b');
  t.after(() => b.remove());
  // The input hook: the kernel stamps these packets when they are received, so a sender whose
  // batches wait longer delivers packets older than the other's newest.
  for (const ns of [a, b])
    await ns.nft(`
table inet t {
  chain in {
    type filter hook input priority 0;
    udp dport ${PORT} counter log group 1
  }
}
`);
  const run = await runPipe(t, {
    senders: [
      // The defaults: a batch leaves at most 10 + 10 ms after the kernel logged its first packet.
      { ns: a, groups: [1] },
      // Up to 50 + 30 ms: this sender's packets reach the receiver well after newer ones of a.
      { ns: b, groups: [1], args: ['--libnflog-timeout', '0.05', '--flush-interval', '30'] },
    ],
    traffic: async () => {
      await Promise.all(
        [a, b].map((ns, i) =>
          sendTraffic(ns, {
            proto: 'udp',
            port: PORT,
            count: PER_NS,
            size: SIZE,
            seed: i + 1,
            ratePps: 5000,
          }),
        ),
      );
    },
  });
  assert.equal(run.logged, 2 * PER_NS);
  const fifo = (await readPcapFile(run.fifoFile)).records;
  assertDelivered(run, fifo);

  // Each packet exactly once, byte-exact (udpIds checks every payload), from both namespaces.
  const key = (id: { seed: number; index: number }): string => `${id.seed}:${id.index}`;
  const fifoIds = await udpIds(run.fifoFile, SIZE);
  assert.deepEqual(
    fifoIds.map(key).sort(),
    [1, 2]
      .flatMap((seed) => Array.from({ length: PER_NS }, (_, index) => key({ seed, index })))
      .sort(),
  );
  // No step back in the FIFO; the ring keeps arrival order and the original timestamps, where
  // the skew shows.
  assert.deepEqual(backSteps(fifo), { steps: 0, maxUs: 0 });
  const ring = (await readPcapFile(run.ringFile)).records;
  const arrival = backSteps(ring);
  assert.ok(arrival.steps > 0, 'in arrival order the two streams interleave backwards');
  // Every timestamp is the one its packet was logged with, except those counted as written late
  // or raised (each such packet got the last timestamp written).
  const original = new Map<string, number>();
  const ringIds = await udpIds(run.ringFile, SIZE);
  ringIds.forEach((id, i) => original.set(key(id), usOf(ring[i]!)));
  const changed = fifoIds.filter((id, i) => original.get(key(id)) !== usOf(fifo[i]!)).length;
  const late = run.recv['reorder_late_pkt']!;
  assert.equal(changed, late + run.recv['reorder_restamped_pkt']!);
  t.diagnostic(
    `arrival order: ${arrival.steps} steps back, up to ${(arrival.maxUs / 1000).toFixed(1)} ms; FIFO: 0; late=${late} restamped=${run.recv['reorder_restamped_pkt']}`,
  );
  assert.equal(late, 0, 'the default window covers both senders');
});

const HTTP_PORT = 8080;
const FLOWS = 25;

async function flowsRun(t: TestContext, tag: string, split: boolean): Promise<void> {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const ns = await Netns.create(tag);
  t.after(() => ns.remove());
  // The two directions of each flow in two groups that flush apart.
  await ns.nft(tcpDirectionsRuleset(HTTP_PORT));
  const senders = split
    ? [
        { ns, groups: [1] },
        { ns, groups: [2] },
      ]
    : [{ ns, groups: [1, 2] }];
  const run = await runPipe(t, {
    senders,
    traffic: async () => {
      for (const family of [4, 6] as const)
        await sendTraffic(ns, {
          proto: 'flows',
          family,
          port: HTTP_PORT,
          count: FLOWS,
          size: 200,
          seed: family,
        });
    },
  });
  const fifo = (await readPcapFile(run.fifoFile)).records;
  assertDelivered(run, fifo);
  const flows = tcpFlows(
    fifo.map((r) => r.data),
    HTTP_PORT,
  );
  assert.equal(flows.size, 2 * FLOWS);
  const ordered = [...flows.values()].filter(inKernelOrder).length;
  assert.equal(ordered, 2 * FLOWS, `${ordered}/${flows.size} flows in kernel order in the FIFO`);
  assert.deepEqual(backSteps(fifo), { steps: 0, maxUs: 0 });
  assert.equal(run.recv['reorder_late_pkt'], 0);
  const ring = (await readPcapFile(run.ringFile)).records;
  const arrived = [
    ...tcpFlows(
      ring.map((r) => r.data),
      HTTP_PORT,
    ).values(),
  ].filter(inKernelOrder).length;
  t.diagnostic(
    `flows in kernel order: FIFO ${ordered}/${flows.size}, arrival order ${arrived}/${flows.size}; restamped=${run.recv['reorder_restamped_pkt']}`,
  );
  // Two senders: in arrival order the groups' batches cross; only the merge puts them right.
  if (split) assert.ok(arrived < ordered, `arrival order had ${arrived} flows in order already`);
}

test('TCP flows, two groups, one sender: every flow in kernel order in the FIFO', (t) =>
  flowsRun(t, 'ord-one', false));

test('TCP flows, two groups, two senders of one namespace: merged by NFULA_SEQ_GLOBAL, every flow in kernel order in the FIFO', (t) =>
  flowsRun(t, 'ord-two', true));
