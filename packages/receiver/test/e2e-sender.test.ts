// End to end through the kernel: nft log → nflog-zmq-send (in a netns) → nflog-pcap-recv → FIFO read by tcpdump -r, then (after SIGHUP) by tshark -r: every packet, byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Netns,
  binPath,
  captureLo,
  makeTempDir,
  mkfifo,
  requirePrereqs,
  sendTraffic,
  spawnChild,
  tcpdumpRead,
  tsharkFields,
  withTimeout,
  TEST_TIMEOUT_MS,
} from '@nflog-pipe/testing';
import { logFields } from './helpers.js';

const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 log group 7
    tcp dport 9002 log group 7
  }
}
`;

/** IPv4 packets the rules log (lo frames carry a 14-byte Ethernet header). */
async function loggedPackets(file: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const r of (await readPcapFile(file)).records) {
    const ip = r.data.subarray(14);
    if (ip[0] !== 0x45) continue;
    const proto = ip[9];
    const dport = ip.readUInt16BE(22);
    if ((proto === 17 && dport === 9000) || (proto === 6 && dport === 9002)) out.push(ip);
  }
  return out;
}

test('real sender to receiver to FIFO: tcpdump and tshark readers get every packet byte for byte', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump', 'tshark'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('recv');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const endpoint = `ipc://${join(dir, 'in.sock')}`; // a path: reachable across the netns
  const recv = spawnChild(process.execPath, [
    binPath('nflog-pcap-recv'),
    endpoint,
    fifo,
    '--stats-interval',
    '0.05',
    '--linktype',
    '101',
  ]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '7',
    endpoint,
    '--flush-interval',
    '0',
    '--stats-interval',
    '0',
    // Byte for byte against tcpdump on lo, which sees the offloaded (partial) checksums too.
    '--checksums',
    'as-logged',
  ]);
  t.after(() => sender.kill('SIGKILL'));
  await sender.waitForStderr(/ started /);

  // Phase 1: read by tcpdump.
  const first = join(dir, 'tcpdump.pcap');
  const tcpdump = spawnChild('tcpdump', ['-r', fifo, '-w', first]);
  await recv.waitForStderr(/FIFO reader attached/);
  const cap1 = await captureLo(ns, join(dir, 'lo1.pcap'));
  await sendTraffic(ns, { proto: 'udp', family: 4, port: 9000, count: 50, size: 300, seed: 1 });
  await sendTraffic(ns, { proto: 'tcp', family: 4, port: 9002, count: 10, size: 100, seed: 2 });
  await cap1.stop();
  const ref1 = await loggedPackets(join(dir, 'lo1.pcap'));
  assert.ok(ref1.length >= 60);
  await recv.waitForStderr(new RegExp(`stats .*out_pkt=${ref1.length} `));
  recv.kill('SIGHUP'); // tcpdump sees EOF after whole records
  assert.equal((await withTimeout(tcpdump.exited, TEST_TIMEOUT_MS, 'tcpdump')).code, 0);
  // The next reader comes once the receiver has seen the old one go (see the SIGHUP race in
  // the receiver README).
  await recv.waitForStderr(/old FIFO reader gone; waiting for the next one/);

  // Phase 2: read by tshark.
  const second = join(dir, 'tshark.pcap');
  const tshark = spawnChild('tshark', ['-r', fifo, '-F', 'pcap', '-w', second]);
  await recv.waitForStderr(/FIFO reader attached.* reader=2/);
  const cap2 = await captureLo(ns, join(dir, 'lo2.pcap'));
  await sendTraffic(ns, { proto: 'udp', family: 4, port: 9000, count: 30, size: 1200, seed: 3 });
  await cap2.stop();
  const ref2 = await loggedPackets(join(dir, 'lo2.pcap'));
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${ref1.length + ref2.length} `));
  recv.kill('SIGTERM');
  assert.deepEqual(await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver'), {
    code: 0,
    signal: null,
  });
  assert.equal((await withTimeout(tshark.exited, TEST_TIMEOUT_MS, 'tshark')).code, 0);

  const got1 = (await readPcapFile(first)).records.map((r) => r.data);
  const got2 = (await readPcapFile(second)).records.map((r) => r.data);
  assert.deepEqual(got1, ref1);
  assert.deepEqual(got2, ref2);
  assert.equal((await tcpdumpRead(first)).count, ref1.length);
  assert.equal((await tsharkFields(second, ['frame.len'])).length, ref2.length);
  const f = logFields(recv.stderr(), 'stopped');
  assert.deepEqual(
    [
      f['in_pkt'],
      f['out_pkt'],
      f['loss_network_pkt'],
      f['loss_fifo_pkt'],
      f['bad_frames'],
      f['senders'],
    ],
    [String(ref1.length + ref2.length), String(ref1.length + ref2.length), '0', '0', '0', '1'],
  );
});
