// Suricata 7 from Debian, with its default configuration, reading the receiver's FIFO (`suricata -r FIFO`, no `-k none`): two senders of one namespace, the two directions of each TCP flow in two groups on the output hook, IPv4 and IPv6; one alert per packet of a content rule and one per HTTP request of an http.uri rule, every packet decoded, no bad checksum.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Netns,
  requirePrereqs,
  sendTraffic,
  spawnChild,
  tcpDirectionsRuleset,
} from '@nflog-pipe/testing';
import { runPipe } from './e2e-util.js';

const UDP_PORT = 9000;
const HTTP_PORT = 8080;
const SEED = 7;
const DATAGRAMS = 200;
const REQUESTS = 25;

// Everything on the output hook: this host sends it all (over lo), so its checksums are the
// partial ones of checksum offload until the sender completes them. Each flow's directions in
// two groups that flush apart: in arrival order most SYN-ACKs would come before their SYN.
const NFT_RULES = tcpDirectionsRuleset(HTTP_PORT, [`udp dport ${UDP_PORT} counter log group 1`]);

// A packet rule (every datagram's payload starts with its seed, payloadFor) and an
// application-layer rule, which fires only when Suricata could follow the TCP session.
const SURICATA_RULES = `
alert udp any any -> any ${UDP_PORT} (msg:"nfp datagram"; content:"|00 00 00 ${SEED.toString(16).padStart(2, '0')}|"; offset:0; depth:4; sid:1000001; rev:1;)
alert http any any -> any any (msg:"nfp request"; http.uri; content:"/nfp/"; startswith; sid:1000002; rev:1;)
`;

interface EveEvent {
  event_type: string;
  src_ip?: string;
  alert?: { signature_id: number };
  stats?: { decoder?: { pkts?: number; invalid?: number }; tcp?: Record<string, number> };
}

test('Suricata with its default configuration reads the FIFO: one alert per datagram and per HTTP request, IPv4 and IPv6, flows from two senders', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'suricata'] })) return;
  const ns = await Netns.create('suri');
  t.after(() => ns.remove());
  await ns.nft(NFT_RULES);
  let logDir = '';
  const run = await runPipe(t, {
    senders: [
      { ns, groups: [1] },
      { ns, groups: [2] },
    ],
    // Options: only where to read, the rules and where to log. `unix-command.enabled=no` keeps
    // this run from creating /var/run/suricata-command.socket (not needed to read a pcap).
    reader: (fifo, dir) => {
      const rules = join(dir, 'nfp.rules');
      writeFileSync(rules, SURICATA_RULES);
      logDir = join(dir, 'suricata');
      mkdirSync(logDir);
      return spawnChild('suricata', [
        '-r',
        fifo,
        '-S',
        rules,
        '-l',
        logDir,
        '--set',
        'unix-command.enabled=no',
      ]);
    },
    traffic: async () => {
      for (const family of [4, 6] as const) {
        await sendTraffic(ns, {
          proto: 'udp',
          family,
          port: UDP_PORT,
          count: DATAGRAMS,
          size: 100,
          seed: SEED,
        });
        await sendTraffic(ns, {
          proto: 'http',
          family,
          port: HTTP_PORT,
          count: REQUESTS,
          size: 300,
          seed: family,
        });
      }
    },
  });
  assert.deepEqual(
    [run.recv['in_pkt'], run.recv['out_pkt'], run.recv['loss_fifo_pkt']],
    [run.logged, run.logged, 0],
  );
  const events = (await readFile(join(logDir, 'eve.json'), 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EveEvent);
  const alerts = (sid: number, v6: boolean): number =>
    events.filter(
      (e) =>
        e.event_type === 'alert' &&
        e.alert?.signature_id === sid &&
        (e.src_ip?.includes(':') ?? false) === v6,
    ).length;
  const counts = {
    datagramV4: alerts(1000001, false),
    datagramV6: alerts(1000001, true),
    requestV4: alerts(1000002, false),
    requestV6: alerts(1000002, true),
  };
  t.diagnostic(`alerts ${JSON.stringify(counts)}, packets ${run.logged}`);
  assert.deepEqual(counts, {
    datagramV4: DATAGRAMS,
    datagramV6: DATAGRAMS,
    requestV4: REQUESTS,
    requestV6: REQUESTS,
  });
  // Suricata decoded every packet the receiver wrote, and none had a bad checksum.
  const stats = events.filter((e) => e.event_type === 'stats').at(-1)?.stats;
  assert.equal(stats?.decoder?.pkts, run.logged, JSON.stringify(stats?.decoder));
  assert.equal(stats?.decoder?.invalid ?? 0, 0);
  assert.equal(stats?.tcp?.['invalid_checksum'] ?? 0, 0, JSON.stringify(stats?.tcp));
});
