// Proves a sender shipping linktype 239 end to end through the kernel: the FIFO (default 101) gets the same IP bytes as the NFLOG payloads, a rotated file written as 239 keeps them as they arrived, a query dump is 239 with the rule's prefix readable by tshark, and `nflog-pcap-query --linktype 101` gives the raw-IP records the FIFO got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import { nflogPayload } from '@nflog-pipe/receiver';
import {
  Netns,
  makeTempDir,
  mkfifo,
  requirePrereqs,
  runTool,
  sendTraffic,
  tsharkFields,
  udpLogRuleset,
  stopCleanly,
} from '@nflog-pipe/testing';
import { readFifo, startReceiver, udpIds, startSender } from './e2e-util.js';
import { logFields } from './helpers.js';

const N = 200;
const SIZE = 300;
const PREFIX = 'ids-test';

test('a 239 sender: FIFO in 101 with the payloads byte for byte, rotated file and query dump in 239 with the NFLOG prefix, --linktype 101 on the query', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tshark'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('lt');
  t.after(() => ns.remove());
  await ns.nft(udpLogRuleset([{ port: 9000, group: 7, prefix: PREFIX }]));
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const rotDir = join(dir, 'rot');
  await mkdir(rotDir);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const qep = `ipc://${join(dir, 'q.sock')}`;
  const recv = await startReceiver(t, [
    ep,
    fifo,
    '--buffer-interface',
    qep,
    '--rotate-dir',
    rotDir,
    '--rotate-size',
    '16',
    '--rotate-linktype',
    '239',
    '--stats-interval',
    '0.05',
  ]);
  assert.match(recv.stderr(), / started .*linktype=101 /);
  const fifoOut = join(dir, 'fifo.pcap');
  const reader = readFifo(fifo, fifoOut);
  await recv.waitForStderr(/FIFO reader attached/);
  await startSender(t, ns, 7, ep, ['--linktype', '239']);
  await sendTraffic(ns, { proto: 'udp', port: 9000, count: N, size: SIZE, seed: 5 });
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${N} `));

  // The dump: linktype 239 (the ring keeps what arrived), the rule's prefix on every packet.
  const dumpFile = join(dir, 'dump239.pcap');
  const q239 = await runTool('nflog-pcap-query', [qep, '-w', dumpFile]);
  assert.equal(q239.code, 0, q239.stderr);
  const dump = await readPcapFile(dumpFile);
  assert.equal(dump.header.linktype, 239);
  assert.equal(dump.records.length, N);
  const prefixes = await tsharkFields(dumpFile, ['nflog.prefix', 'udp.dstport']);
  assert.deepEqual(
    prefixes,
    Array.from({ length: N }, () => [PREFIX, '9000']),
  );
  // --linktype 101: the raw-IP records.
  const q101 = await runTool('nflog-pcap-query', [qep, '--linktype', '101']);
  assert.equal(q101.code, 0, q101.stderr);
  const raw = readPcap(q101.stdout);
  assert.equal(raw.header.linktype, 101);

  const f = logFields(await stopCleanly(recv, 'receiver'), 'stopped');
  await reader;
  assert.deepEqual(
    [f['in_pkt'], f['out_pkt'], f['loss_fifo_pkt'], f['rotate_out_pkt'], f['rotate_loss_pkt']],
    [String(N), String(N), '0', String(N), '0'],
  );

  // The FIFO: linktype 101, every packet whole and byte-exact, and exactly the NFLOG payloads.
  const ids = await udpIds(fifoOut, SIZE);
  assert.deepEqual(
    ids.map((x) => x.index),
    Array.from({ length: N }, (_, i) => i),
  );
  const fifoPcap = await readPcapFile(fifoOut);
  const payloads = dump.records.map((r) => nflogPayload(r.data));
  assert.deepEqual(
    fifoPcap.records.map((r) => r.data),
    payloads,
  );
  // The same records (timestamps, lengths) as the query's 101 dump.
  assert.deepEqual(raw.records, fifoPcap.records);
  // The rotated file kept the 239 records as they arrived: the dump's bytes.
  const files = (await readdir(rotDir)).sort();
  assert.equal(files.length, 1);
  const rotated = await readPcapFile(join(rotDir, files[0]!));
  assert.equal(rotated.header.linktype, 239);
  assert.deepEqual(rotated.records, dump.records);
});
