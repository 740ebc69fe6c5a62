// Through the kernel: locally generated packets (output hook) leave the sender with the checksums the wire carries, 0 bad for tshark with validation on (some with --checksums as-logged), in both linktypes; received and forwarded packets come out byte for byte as tcpdump saw them on the interface.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pull } from 'zeromq';
import { encodePcapHeader } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  binPath,
  makeTempDir,
  nftLogged,
  parseLogCounters,
  requirePrereqs,
  runCommand,
  sendTraffic,
  stopCleanly,
  tsharkFields,
  waitForLogCounters,
  captureLo,
} from '@nflog-pipe/testing';
import { readLoCapture, receivePackets, type Pkt } from './kernel-helper.js';

const CHECKS = {
  'ip.check_checksum': 'TRUE',
  'tcp.check_checksum': 'TRUE',
  'udp.check_checksum': 'TRUE',
};
const BAD =
  'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || icmpv6.checksum.status == 0';
const GOOD = 'tcp.checksum.status == 1 || udp.checksum.status == 1 || icmpv6.checksum.status == 1';

/** Starts nflog-zmq-send in `ns` on `groups` into a fresh PULL; runs `traffic`; returns what it shipped. */
async function shipped(
  t: TestContext,
  ns: Netns,
  dir: string,
  groups: number[],
  args: string[],
  traffic: () => Promise<void>,
): Promise<{ pkts: Pkt[]; records: Buffer[]; fin: Record<string, number | undefined> }> {
  const pull = new Pull();
  t.after(() => pull.close());
  const endpoint = `ipc://${join(dir, `pull-${args.join('')}.sock`)}`;
  await pull.bind(endpoint);
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    groups.join(','),
    endpoint,
    '--stats-interval',
    '0.1',
    ...args,
  ]);
  await sender.waitForStderr(/ started /);
  // The rules' counters add up across runs: what this run logged is the difference.
  let logged = 0;
  for (const g of groups) logged -= await nftLogged(ns, g);
  await traffic();
  for (const g of groups) logged += await nftLogged(ns, g);
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === logged, `captured=${logged}`);
  const fin = parseLogCounters(await stopCleanly(sender, 'the sender'));
  assert.deepEqual([fin['captured'], fin['queued']], [logged, logged]);
  const { pkts, frames } = await receivePackets(pull, logged);
  return { pkts, records: frames.map((f) => f.records), fin };
}

test('output hook: tshark finds 0 bad checksums by default (101 and 239), some with --checksums as-logged', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tshark', 'ping'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('csum-out');
  t.after(() => ns.remove());
  await ns.nft(`
table inet t {
  chain out {
    type filter hook output priority 0;
    meta l4proto { tcp, udp, ipv6-icmp } counter log group 1
  }
}
`);
  const traffic = async (): Promise<void> => {
    for (const family of [4, 6] as const) {
      await sendTraffic(ns, { proto: 'flows', family, port: 8080, count: 5, size: 3000, seed: 1 });
      await sendTraffic(ns, { proto: 'udp', family, port: 9000, count: 10, size: 333, seed: 2 });
    }
    await sendTraffic(ns, { proto: 'icmp', family: 6, count: 3, size: 56, seed: 3 });
  };
  const verdicts: Record<string, { bad: number; good: number; all: number; fixed: number }> = {};
  for (const [name, args] of [
    ['wire 101', []],
    ['wire 239', ['--linktype', '239']],
    ['as-logged 101', ['--checksums', 'as-logged']],
  ] as const) {
    const r = await shipped(t, ns, dir, [1], [...args], traffic);
    const file = join(dir, `${name.replace(' ', '-')}.pcap`);
    const linktype = name.endsWith('239') ? 239 : 101;
    await writeFile(file, Buffer.concat([encodePcapHeader({ linktype }), ...r.records]));
    const count = async (filter?: string): Promise<number> =>
      (await tsharkFields(file, ['frame.number'], filter, CHECKS)).length;
    verdicts[name] = {
      bad: await count(BAD),
      good: await count(GOOD),
      all: await count(),
      fixed: r.fin['checksums_fixed']!,
    };
  }
  t.diagnostic(JSON.stringify(verdicts));
  for (const name of ['wire 101', 'wire 239']) {
    const v = verdicts[name]!;
    assert.equal(v.bad, 0, `${name}: bad checksums`);
    assert.equal(v.good, v.all, `${name}: every packet's transport checksum verified good`);
    assert.ok(v.fixed > 0);
  }
  const logged = verdicts['as-logged 101']!;
  assert.ok(logged.bad > 0, 'as logged, offloaded checksums are partial');
  assert.equal(logged.fixed, 0);
});

/** Runs `ip` with `args` (in the root namespace, which only creates links into ours). */
const ip = (...args: string[]): Promise<unknown> => runCommand('ip', args);

test('received and forwarded packets: byte for byte what tcpdump saw on the interface', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump', 'sysctl', 'ping'] })) return;
  const dir = await makeTempDir(t);
  // client (A) -- r0 | router (R, the sender) | r1 -- server (S), on veth pairs
  const a = await Netns.create('csum-a');
  t.after(() => a.remove());
  const r = await Netns.create('csum-r');
  t.after(() => r.remove());
  const s = await Netns.create('csum-s');
  t.after(() => s.remove());
  // No duplicate address detection: addresses are usable at once (a tentative link-local address
  // also stalls neighbour discovery).
  for (const ns of [a, r, s])
    await ns.run('sysctl', [
      '-qw',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ]);
  await ip(
    'link',
    'add',
    'a0',
    'netns',
    a.name,
    'type',
    'veth',
    'peer',
    'name',
    'r0',
    'netns',
    r.name,
  );
  await ip(
    'link',
    'add',
    's0',
    'netns',
    s.name,
    'type',
    'veth',
    'peer',
    'name',
    'r1',
    'netns',
    r.name,
  );
  const up = async (ns: Netns, dev: string, v4: string, v6: string): Promise<void> => {
    await ns.run('ip', ['addr', 'add', v4, 'dev', dev]);
    await ns.run('ip', ['-6', 'addr', 'add', v6, 'dev', dev, 'nodad']);
    await ns.run('ip', ['link', 'set', dev, 'up']);
  };
  await up(a, 'a0', '10.231.1.2/24', 'fd31:1::2/64');
  await up(r, 'r0', '10.231.1.1/24', 'fd31:1::1/64');
  await up(r, 'r1', '10.231.2.1/24', 'fd31:2::1/64');
  await up(s, 's0', '10.231.2.2/24', 'fd31:2::2/64');
  await a.run('ip', ['route', 'add', 'default', 'via', '10.231.1.1']);
  await a.run('ip', ['-6', 'route', 'add', 'default', 'via', 'fd31:1::1']);
  await s.run('ip', ['route', 'add', 'default', 'via', '10.231.2.1']);
  await s.run('ip', ['-6', 'route', 'add', 'default', 'via', 'fd31:2::1']);
  await r.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  // Resolve every neighbour first (ARP, NDP), so no datagram waits in a neighbour queue.
  for (const to of ['10.231.1.1', '10.231.2.2', 'fd31:1::1', 'fd31:2::2'])
    await a.run('ping', ['-c', '1', '-W', '5', to]);
  // The sender's only group logs what arrives for the router and what it forwards.
  await r.nft(`
table inet t {
  chain in {
    type filter hook input priority 0;
    udp dport 9000 counter log group 1
  }
  chain routed {
    type filter hook forward priority 0;
    udp dport 9000 counter log group 1
  }
}
`);
  // Drop at the server so it answers nothing (no ICMP errors to tell apart).
  await s.nft(`
table inet t {
  chain in {
    type filter hook input priority 0;
    udp dport 9000 drop
  }
}
`);
  const caps = [];
  for (const device of ['r0', 'r1'])
    caps.push({
      dev: device,
      cap: await captureLo(r, join(dir, `${device}.pcap`), {
        device,
        filter: ['udp', 'port', '9000'],
      }),
    });
  // 12 datagrams per destination and family, sent from A with its own (offloaded) checksums.
  const script = `
const dgram = require('node:dgram');
(async () => {
  for (const [type, to] of [['udp4', '10.231.1.1'], ['udp4', '10.231.2.2'], ['udp6', 'fd31:1::1'], ['udp6', 'fd31:2::2']]) {
    const sock = dgram.createSocket(type);
    for (let i = 0; i < 12; i++) {
      await new Promise((res, rej) => sock.send(Buffer.alloc(100 + i, i), 9000, to, (e) => (e ? rej(e) : res())));
    }
    sock.close();
  }
})();`;
  const run = await shipped(t, r, dir, [1], [], async () => {
    await a.run(process.execPath, ['-e', script]);
  });
  // Everything went in through r0 (to the router and to the server); the forwarded half out of r1.
  await caps[0]!.cap.stop(48);
  await caps[1]!.cap.stop(24);
  const seenOn = new Map<string, Pkt[]>();
  for (const c of caps) seenOn.set(c.dev, await readLoCapture(join(dir, `${c.dev}.pcap`)));
  const hex = (p: Pkt): string => p.data.toString('hex');
  const toRouter = (p: Pkt): boolean => {
    const v4 = p.data[0]! >> 4 === 4;
    const dst = v4 ? p.data.subarray(16, 20).join('.') : p.data.subarray(24, 40).toString('hex');
    return dst === '10.231.1.1' || dst === 'fd310001000000000000000000000001';
  };
  // Received: as on r0 (the way in); forwarded: as on r1 (TTL/hop limit already lowered).
  const received = run.pkts.filter(toRouter);
  const forwarded = run.pkts.filter((p) => !toRouter(p));
  assert.deepEqual([received.length, forwarded.length], [24, 24]);
  assert.deepEqual(received.map(hex), seenOn.get('r0')!.filter(toRouter).map(hex));
  assert.deepEqual(forwarded.map(hex), seenOn.get('r1')!.map(hex));
  assert.equal(run.fin['checksums_fixed'], 0);
  // What makes "untouched" observable: A's offloaded checksums stay partial across the veth, so
  // the shipped packets still carry them (a sender that "fixed" them would differ from tcpdump).
  const file = join(dir, 'shipped.pcap');
  await writeFile(file, Buffer.concat([encodePcapHeader({ linktype: 101 }), ...run.records]));
  const bad = (await tsharkFields(file, ['frame.number'], BAD, CHECKS)).length;
  t.diagnostic(`received/forwarded packets with a partial checksum, as on the wire: ${bad} of 48`);
  assert.ok(bad > 0);
});
