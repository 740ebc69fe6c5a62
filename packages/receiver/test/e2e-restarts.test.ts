// End to end through the kernel with FIFO readers killed and restarted mid-stream: each reader's file is a valid pcap, packets stay in order without duplicates, and the packets missing from the readers' files are exactly the receiver's counted FIFO drops plus the sender's counted drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  Children,
  Netns,
  StatsdListener,
  TEST_TIMEOUT_MS,
  logLines,
  makeTempDir,
  mkfifo,
  nftLogged,
  parseLogCounters,
  pause,
  requirePrereqs,
  resume,
  sendTraffic,
  spawnChild,
  startFifoReader,
  stopCleanly,
  tcpdumpRead,
  waitBlockedInPipeRead,
  waitForLogCounters,
  waitForLogLines,
  withTimeout,
  type ChildHandle,
  type LogCounters,
} from '@nflog-pipe/testing';
import { keepWholeRecords, udpIds } from './e2e-util.js';

const GROUP = 5;
const PORT = 9000;
const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport ${PORT} counter log group ${GROUP}
  }
}
`;
/** The steady stream: 6000 datagrams of 200 bytes at 1000 pps (about 6 s, 250 KB/s of records). */
const COUNT = 6000;
const SIZE = 200;
const SEED = 5;
const RATE_PPS = 1000;
/** Receiver queue while no reader is there: about 130 ms of the stream, so gaps drop packets. */
const FIFO_BUFFER_MIB = '0.03';

/**
 * How each reader ends. `kill`: killed (SIGKILL or SIGTERM) while the receiver is stopped and the
 * reader sleeps on the empty pipe, so it holds nothing the receiver counted as delivered (a
 * reader killed while it holds a buffer loses it unseen by anyone). `head`: `head -c` leaves by
 * itself after that many bytes, mid-record, with unread data left in the pipe. `eof`: the last
 * reader, reading to the end after the receiver stops.
 */
type Reader =
  | { tool: 'cat' | 'tcpdump'; end: 'kill'; sig: 'SIGKILL' | 'SIGTERM' }
  | { tool: 'head'; end: 'head'; bytes: number }
  | { tool: 'tcpdump'; end: 'eof' };

const READERS: readonly Reader[] = [
  { tool: 'cat', end: 'kill', sig: 'SIGKILL' },
  { tool: 'tcpdump', end: 'kill', sig: 'SIGKILL' },
  { tool: 'head', end: 'head', bytes: 40_001 },
  { tool: 'cat', end: 'kill', sig: 'SIGTERM' },
  { tool: 'head', end: 'head', bytes: 77_777 },
  { tool: 'tcpdump', end: 'eof' },
];

function startReader(r: Reader, fifo: string, out: string): ChildHandle {
  switch (r.tool) {
    case 'cat':
      return startFifoReader(fifo, out);
    case 'head':
      return startFifoReader(fifo, out, r.bytes);
    case 'tcpdump':
      // -U: each packet is written out as soon as it is read, so a killed tcpdump loses nothing
      // it took from the pipe. The last reader writes buffered and flushes at EOF.
      return spawnChild('tcpdump', [...(r.end === 'kill' ? ['-U'] : []), '-r', fifo, '-w', out]);
  }
}

test('FIFO readers killed and restarted under a steady stream: missing packets = counted drops, exactly', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft', 'tcpdump', 'cat', 'head', 'sh'] }))
    return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('rrst');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const statsd = await StatsdListener.start();
  t.after(() => statsd.close());
  const kids = new Children(t);
  const fifo = join(dir, 'fifo');
  await mkfifo(fifo);
  const endpoint = `ipc://${join(dir, 'r.sock')}`; // a path: reachable across the netns

  const recv = await kids.start(
    'nflog-pcap-recv',
    [
      endpoint,
      fifo,
      '--linktype',
      '101',
      '--fifo-buffer',
      FIFO_BUFFER_MIB,
      '--stats-interval',
      '0.05',
      ...statsd.cliArgs('t.', 0.1),
    ],
    / started /,
  );
  const sender = await kids.start(
    'nflog-zmq-send',
    [String(GROUP), endpoint, '--stats-interval', '0.05'],
    / started /,
    ns,
  );
  const lastStats = (): LogCounters =>
    parseLogCounters(logLines(recv.stderr(), 'stats').at(-1) ?? '');

  const files: string[] = [];
  let reader = kids.add(startReader(READERS[0]!, fifo, join(dir, 'r0.pcap')));
  files.push(join(dir, 'r0.pcap'));
  await waitForLogLines(recv, 'FIFO reader attached', 1);

  const traffic = sendTraffic(ns, {
    proto: 'udp',
    family: 4,
    port: PORT,
    count: COUNT,
    size: SIZE,
    seed: SEED,
    ratePps: RATE_PPS,
  });
  traffic.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

  const cuts: number[] = [];
  for (const [k, r] of READERS.entries()) {
    if (r.end === 'eof') break;
    if (r.end === 'kill') {
      // Let this reader get a good part of the stream first.
      const base = lastStats()['out_pkt'] ?? 0;
      await waitForLogCounters(
        recv,
        'stats',
        (c) => c['out_pkt']! >= base + 300,
        `reader ${k} fed`,
      );
      await pause(recv);
      await waitBlockedInPipeRead(reader.pid);
      reader.kill(r.sig);
      const exit = await withTimeout(reader.exited, TEST_TIMEOUT_MS, `reader ${k} killed`);
      assert.equal(exit.signal, r.sig, `reader ${k} died of ${r.sig}`);
      resume(recv);
    } else {
      const exit = await withTimeout(reader.exited, TEST_TIMEOUT_MS, `reader ${k} (head) done`);
      assert.equal(exit.code, 0, `head reader ${k}: ${reader.stderr()}`);
    }
    cuts.push(keepWholeRecords(files[k]!));
    await waitForLogLines(recv, 'FIFO reader gone, reopening', k + 1);
    // While no reader is there the small queue overflows: whole batches are dropped and counted.
    const lost = lastStats()['loss_fifo_pkt'] ?? 0;
    await waitForLogCounters(
      recv,
      'stats',
      (c) => c['loss_fifo_pkt']! > lost,
      `drops after reader ${k}`,
    );
    const out = join(dir, `r${k + 1}.pcap`);
    files.push(out);
    reader = kids.add(startReader(READERS[k + 1]!, fifo, out));
    await waitForLogLines(recv, 'FIFO reader attached', k + 2);
  }

  // How far the stream was when the last reader came (it must not end before: diagnostics).
  const inAtLast = lastStats()['in_pkt'];
  const { sent } = await withTimeout(traffic, 2 * TEST_TIMEOUT_MS, 'traffic');
  assert.equal(sent, COUNT);
  assert.equal(await nftLogged(ns, GROUP), COUNT, 'nft logged every datagram');
  // The sender has read every logged packet (a stop before that would leave some unread).
  await waitForLogCounters(
    sender,
    'stats',
    (c) => c['captured']! + c['dropped_kernel']! === COUNT,
    'sender read everything',
  );
  const s = parseLogCounters(await stopCleanly(sender, 'sender'));
  assert.equal(
    s['captured']! + s['dropped_kernel']!,
    COUNT,
    'sender: logged = captured + kernel drops',
  );
  assert.equal(
    s['captured'],
    s['queued']! + s['dropped_queue']! + s['dropped_shaper']!,
    'sender: captured = sent + its counted drops',
  );
  // Everything the sender sent has been received (or its loss counted) before the receiver stops.
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['in_pkt']! + c['loss_network_pkt']! === s['captured'],
    'receiver has every packet the sender read',
  );
  const r = parseLogCounters(await stopCleanly(recv, 'receiver'));
  const last = await withTimeout(reader.exited, TEST_TIMEOUT_MS, 'last reader to see EOF');
  assert.equal(last.code, 0, `last reader: ${reader.stderr()}`);

  // Every reader's file is a valid pcap that tcpdump reads; in order, no duplicates, byte-exact.
  const got: number[] = [];
  const perFile: number[] = [];
  for (const f of files) {
    const ids = await udpIds(f, SIZE);
    assert.equal((await tcpdumpRead(f)).count, ids.length, `${f}: tcpdump count`);
    assert.equal((await readPcapFile(f)).header.linktype, 101);
    for (const id of ids) assert.deepEqual([id.dport, id.seed], [PORT, SEED]);
    perFile.push(ids.length);
    got.push(...ids.map((id) => id.index));
  }
  for (let i = 1; i < got.length; i++)
    assert.ok(got[i]! > got[i - 1]!, `order across readers at ${i}: ${got[i - 1]} then ${got[i]}`);
  for (const n of perFile) assert.ok(n > 0, `every reader got packets: ${perFile.join(',')}`);
  assert.ok(cuts[2]! > 0 || cuts[4]! > 0, 'a head reader left mid-record');

  const senderDrops = s['dropped_queue']! + s['dropped_shaper']! + s['dropped_kernel']!;
  assert.ok(r['loss_fifo_pkt']! > 0, 'readers away: the receiver dropped and counted');
  assert.equal(COUNT - got.length, r['loss_fifo_pkt']! + senderDrops, 'missing = counted drops');
  assert.equal(r['loss_network_pkt'], s['dropped_queue']! + s['dropped_shaper']!);
  assert.deepEqual(
    [r['in_pkt'], r['out_pkt'], r['queued_pkt'], r['readers'], r['bad_frames'], r['senders']],
    [s['queued'], got.length, 0, READERS.length, 0, 1],
  );
  // statsd says the same as the final line.
  await statsd.waitFor('t.loss.fifo.pkt', (v) => v === r['loss_fifo_pkt']);
  await statsd.waitFor('t.raw_out.pkt', (v) => v === got.length);
  t.diagnostic(
    `sent=${COUNT} files=${perFile.join('+')}=${got.length} loss_fifo=${r['loss_fifo_pkt']} ` +
      `sender_drops=${senderDrops} cut_bytes=${cuts.join(',')} in_pkt_at_last_reader=${inAtLast}`,
  );
});
