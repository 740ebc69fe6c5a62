// A receiver SIGKILLed under load and restarted: the sender's ZeroMQ queue is kept for the new receiver, only what was in flight is lost, the new receiver logs the sender's first sequence number, and the counts add up: sent = first receiver's file + logged gap + second receiver's file, the gap within the documented bound (docs/operations.md, "What a receiver restart loses").
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
  iterateRecords,
} from '@nflog-pipe/pcap-writer';
import {
  Children,
  Netns,
  TEST_TIMEOUT_MS,
  logField,
  makeTempDir,
  nftLogged,
  parseIpPacket,
  parseLogCounters,
  payloadFor,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
  withTimeout,
  type ChildHandle,
  udpLogRuleset,
} from '@nflog-pipe/testing';

const GROUP = 5;
const PORT = 9000;
const RULES = udpLogRuleset([{ port: PORT, group: GROUP }]);
/** 30,000 datagrams of 200 bytes at 10k pps: 3 s of steady load, the kill in the middle. */
const COUNT = 30_000;
const SIZE = 200;
const SEED = 51;
const RATE_PPS = 10_000;
/** The first receiver is killed once it has taken this many packets. */
const KILL_AFTER = 8_000;
/** Bytes of one pcap record of these packets: 16-byte header + IPv4 (20) + UDP (8) + payload. */
const RECORD_BYTES = 16 + 28 + SIZE;
/**
 * The documented bound on what a dying receiver takes with it, over ipc (a Unix socket has no
 * receive buffer of its own: what is in the kernel counts against the sender's send buffer):
 * the sender's ZMQ_SNDBUF (the kernel doubles it for its bookkeeping), the receiver's ZeroMQ
 * queue (its --zmq-buffer, set here), the frame it is handling and one in its writer, each at most
 * --batch-bytes. The defaults: --zmq-sndbuf 0.25 MiB, --batch-bytes 256 KiB.
 */
const RECEIVER_QUEUE_FRAMES = 4;
const BOUND_PACKETS = Math.floor(
  (2 * 0.25 * 1024 * 1024 + (RECEIVER_QUEUE_FRAMES + 2) * 256 * 1024) / RECORD_BYTES,
);

/** The payload indices of the whole records in a receiver's file (a killed one may end mid-record). */
function indices(file: string): number[] {
  const all = readFileSync(file);
  const c = new RecordCursor(all, PCAP_HEADER_BYTES);
  while (c.next() === RECORD_OK);
  return [...iterateRecords(all.subarray(PCAP_HEADER_BYTES, c.end))].map((r, k) => {
    const { payload } = parseIpPacket(r.data);
    const index = payload.readUInt32BE(4);
    assert.ok(payload.equals(payloadFor(SEED, index, SIZE)), `${file} #${k} byte-exact`);
    return index;
  });
}

/** [first, first + 1, ..., first + n - 1]. */
const run = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

test('receiver SIGKILLed and restarted under load: sent = first file + logged gap + second file, gap within the bound', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('rrestart');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const kids = new Children(t);
  const endpoint = `ipc://${join(dir, 'r.sock')}`; // a path: reachable across the netns
  const startReceiver = (out: string): Promise<ChildHandle> =>
    kids.start(
      'nflog-pcap-recv',
      [
        endpoint,
        out,
        '--linktype',
        '101',
        '--zmq-buffer',
        String(RECEIVER_QUEUE_FRAMES),
        '--stats-interval',
        '0.05',
      ],
      / started /,
    );
  const files = [join(dir, 'r1.pcap'), join(dir, 'r2.pcap')];
  const first = await startReceiver(files[0]!);
  // Every sender option at its default.
  const sender = await kids.start(
    'nflog-zmq-send',
    [String(GROUP), endpoint, '--stats-interval', '0.05'],
    / started /,
    ns,
  );
  const traffic = sendTraffic(ns, {
    proto: 'udp',
    port: PORT,
    count: COUNT,
    size: SIZE,
    seed: SEED,
    ratePps: RATE_PPS,
  });
  traffic.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

  await waitForLogCounters(first, 'stats', (c) => c['in_pkt']! >= KILL_AFTER, 'first receiver fed');
  first.kill('SIGKILL');
  assert.equal((await withTimeout(first.exited, TEST_TIMEOUT_MS, 'kill')).signal, 'SIGKILL');
  const second = await startReceiver(files[1]!);

  assert.equal((await withTimeout(traffic, 2 * TEST_TIMEOUT_MS, 'traffic')).sent, COUNT);
  assert.equal(await nftLogged(ns, GROUP), COUNT);
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === COUNT, 'sender read all');
  const s = parseLogCounters(await stopCleanly(sender, 'the sender'));
  assert.deepEqual(
    [s['captured'], s['sent'], s['dropped_queue'], s['dropped_kernel']],
    [COUNT, COUNT, 0, 0],
    'the sender sent everything: the queue held while no receiver was there',
  );
  // The second receiver has the rest once its count reaches the sender's last number.
  const warned = await second.waitForStderr(
    /WARN nflog-pcap-recv: sender already past sequence 0: .* first_seq=(\d+)/,
  );
  const firstSeq = Number(warned[1]);
  assert.equal(logField(warned[0], 'first_seq'), String(firstSeq));
  await waitForLogCounters(
    second,
    'stats',
    (c) => c['in_pkt']! + c['loss_network_pkt']! === COUNT - firstSeq,
    'second receiver has everything from first_seq on',
  );
  const r2 = parseLogCounters(await stopCleanly(second, 'the second receiver'));
  assert.equal(r2['loss_network_pkt'], 0);

  // Each file holds one contiguous run; together with the logged gap they are every packet.
  const got1 = indices(files[0]!);
  const got2 = indices(files[1]!);
  assert.deepEqual(got1, run(0, got1.length), 'first receiver: packets 0.. in order');
  assert.deepEqual(got2, run(firstSeq, COUNT - firstSeq), 'second receiver: first_seq.. in order');
  const gap = firstSeq - got1.length;
  assert.ok(gap >= 0, `no overlap: first file ${got1.length}, first_seq ${firstSeq}`);
  assert.equal(got1.length + gap + got2.length, COUNT, 'sent = first file + gap + second file');
  assert.ok(gap <= BOUND_PACKETS, `gap ${gap} within the bound of ${BOUND_PACKETS} packets`);
  t.diagnostic(`first=${got1.length} gap=${gap} second=${got2.length} bound=${BOUND_PACKETS}`);
});
