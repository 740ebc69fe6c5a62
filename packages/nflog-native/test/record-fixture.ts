// Records test/fixtures/nflog-order.bin from a live kernel (root, ip, nft, ping): the raw netlink
// datagrams one socket read for two groups, as the capture fixture's rawOut writes them (u32 LE
// length + datagram). Run after a build, from the repository root:
//   node packages/nflog-native/dist/test/record-fixture.js packages/nflog-native/test/fixtures/nflog-order.bin
// Group 7 logs on the output hook (locally generated: partial TCP/UDP checksums on lo), group 8
// on the input hook with queue-threshold 1, so its batches reach the socket before group 7's
// older ones: the datagrams are out of kernel order, as the merge has to handle them.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, sendTraffic } from '@nflog-pipe/testing';
import { Capture, type CaptureProgress } from './helpers.js';

export const ORDER_FIXTURE_RULESET = `
table inet rec {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 9301 log prefix "rec-u" group 7
    tcp dport 9302 log prefix "rec-t" group 7
    tcp sport 9302 log prefix "rec-t" group 7
    icmpv6 type echo-request log prefix "rec-i" group 7
  }
  chain in {
    type filter hook input priority 0; policy accept;
    udp dport 9301 log prefix "rec-in" group 8 queue-threshold 1
  }
}
`;

async function record(target: string): Promise<void> {
  const ns = await Netns.create('record');
  const dir = await mkdtemp(join(tmpdir(), 'nfp-record-'));
  try {
    await ns.nft(ORDER_FIXTURE_RULESET);
    const raw = join(dir, 'raw.bin');
    const cap = new Capture(ns, { groups: [7, 8], rawOut: raw }, join(dir, 'records'));
    await cap.waitFor('ready');
    await sendTraffic(ns, { proto: 'udp', family: 4, port: 9301, count: 3, size: 20, seed: 1 });
    await sendTraffic(ns, { proto: 'udp', family: 6, port: 9301, count: 2, size: 30, seed: 2 });
    await sendTraffic(ns, { proto: 'tcp', family: 4, port: 9302, count: 2, size: 40, seed: 3 });
    await sendTraffic(ns, { proto: 'icmp', family: 6, count: 1, size: 16, seed: 4 });
    // UDP twice each (output, input), a TCP connection (10 segments), one echo request.
    await cap.waitFor<CaptureProgress>('progress', (p) => p.packets >= 3 * 2 + 2 * 2 + 10 + 1);
    await cap.stop();
    await copyFile(raw, target);
  } finally {
    await ns.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('record-fixture.js')) {
  const target = process.argv[2];
  if (target === undefined) throw new Error('usage: record-fixture.js OUT.bin');
  await record(target);
}
