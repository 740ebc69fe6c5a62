// SIGTERM while the kernel still holds a batch it logged: the sender unbinds its groups (or, without CAP_NET_ADMIN after -u, reads on for the flush timeout), so the kernel's pending batches are read and sent before it exits: nft logged = delivered, byte for byte.
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import {
  Children,
  logLines,
  makeTempDir,
  Netns,
  nftLogged,
  parseIpPacket,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  udpLogRuleset,
} from '@nflog-pipe/testing';
import { nextStats, receivePackets } from './kernel-helper.js';

/** Group → UDP port its rule logs. */
const GROUPS = [
  { group: 3, port: 9000, seed: 31 },
  { group: 4, port: 9001, seed: 41 },
] as const;
const RULES = udpLogRuleset(GROUPS);
/**
 * Datagrams per group: well under the kernel's batch limits (qthresh 1024 packets, nlbufsiz 128
 * KiB at ~230 bytes per message), so with a long flush timeout the kernel holds all of them in
 * one pending batch per group until something makes it send.
 */
const COUNT = 300;
const SIZE = 100;

interface Case {
  what: string;
  /** --libnflog-timeout, seconds: how long the kernel would hold the batch on its own. */
  timeoutS: string;
  extra: readonly string[];
  /** Whether the sender can unbind (it keeps CAP_NET_ADMIN) or falls back to the flush timeout. */
  unbinds: boolean;
}

const CASES: readonly Case[] = [
  // 60 s: far beyond the test, so only the unbind can bring the batches out in time.
  { what: 'as root: unbinding flushes the batches', timeoutS: '60', extra: [], unbinds: true },
  {
    what: 'after -u nobody: the unbind is refused, reading goes on for the flush timeout',
    timeoutS: '2',
    extra: ['-u', 'nobody'],
    unbinds: false,
  },
];

for (const c of CASES) {
  test(`SIGTERM with batches pending in the kernel (${c.what}): nft logged = delivered, byte for byte`, async (t) => {
    if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
    const dir = await makeTempDir(t);
    const ns = await Netns.create('stopdrain');
    t.after(() => ns.remove());
    await ns.nft(RULES);
    const pull = new Pull();
    t.after(() => pull.close());
    const sockPath = join(dir, 'pull.sock');
    const endpoint = `ipc://${sockPath}`;
    await pull.bind(endpoint);
    // With -u the sender connects once it is nobody: let it reach the socket file.
    await chmod(dir, 0o755);
    await chmod(sockPath, 0o777);
    const kids = new Children(t);
    const sender = await kids.start(
      'nflog-zmq-send',
      [
        GROUPS.map((g) => g.group).join(','),
        endpoint,
        '--libnflog-timeout',
        c.timeoutS,
        '--stats-interval',
        '0.05',
        ...c.extra,
      ],
      / started /,
      ns,
    );
    for (const g of GROUPS) {
      const { sent } = await sendTraffic(ns, {
        proto: 'udp',
        port: g.port,
        count: COUNT,
        size: SIZE,
        seed: g.seed,
      });
      assert.equal(sent, COUNT);
    }
    const logged = await Promise.all(GROUPS.map((g) => nftLogged(ns, g.group)));
    assert.deepEqual(logged, [COUNT, COUNT], 'nft logged every datagram');
    // Two stats lines later the sender has still read nothing: the kernel holds every packet,
    // so what follows is the case under test (the stop alone must bring them out).
    const before = await nextStats(sender, 2);
    assert.equal(before['captured'], 0, 'the kernel still holds the batches');

    const fin = parseLogCounters(await stopCleanly(sender, 'the sender'));
    const total = COUNT * GROUPS.length;
    assert.deepEqual(
      [fin['captured'], fin['queued'], fin['dropped_queue'], fin['dropped_kernel']],
      [total, total, 0, 0],
      'the sender read and sent every logged packet',
    );
    const fallback = logLines(
      sender.stderr(),
      'cannot unbind the NFLOG groups at stop: reading on for the flush timeout',
    );
    assert.equal(fallback.length, c.unbinds ? 0 : 1, sender.stderr());
    if (!c.unbinds) assert.match(fallback[0]!, /EPERM/);

    // Delivered: every packet of every group, exactly once, in the kernel's order per group.
    const { pkts } = await receivePackets(pull, total);
    assert.equal(pkts.length, total);
    for (const g of GROUPS) {
      const mine = pkts.map((p) => parseIpPacket(p.data)).filter((p) => p.dport === g.port);
      assert.equal(mine.length, COUNT, `group ${g.group}`);
      mine.forEach((p, i) =>
        assert.ok(p.payload.equals(payloadFor(g.seed, i, SIZE)), `group ${g.group} packet ${i}`),
      );
    }
  });
}
