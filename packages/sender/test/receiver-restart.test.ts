// A receiver SIGKILLed under load and restarted: the sender's ZeroMQ queue is kept for the new receiver, only what was in flight is lost, the new receiver logs the sender's first sequence number, and the counts add up: read = first receiver's file + second receiver's file + the sender's counted drops + the gap below the logged first_seq, the gap within the documented bound (docs/operations.md, "What a receiver restart loses").
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

test('receiver SIGKILLed and restarted under load: read = first file + second file + counted drops + a gap below the logged first_seq, within the bound', async (t) => {
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
  // While no receiver was there the sender's queue held what it could; on a loaded box the
  // restart may outlast it, and then the sender drops and counts (dropped_queue).
  assert.deepEqual(
    [s['captured'], s['queued']! + s['dropped_queue']!, s['dropped_kernel']],
    [COUNT, COUNT, 0],
    'the sender read everything and sent or counted each packet',
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

  // Each file holds its run in order, the first below first_seq, the second from it on; what
  // neither has is the sender's counted drops and the gap lost in flight at the kill.
  const got1 = indices(files[0]!);
  const got2 = indices(files[1]!);
  const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
  assert.ok(ascending(got1) && ascending(got2), 'each file in sending order, no duplicates');
  assert.ok((got1.at(-1) ?? -1) < firstSeq, `first file below first_seq ${firstSeq}`);
  assert.ok(got2[0]! >= firstSeq, `second file from first_seq ${firstSeq} on`);
  assert.equal(got2.length, COUNT - firstSeq - r2['loss_network_pkt']!, 'second receiver');
  assert.ok(r2['loss_network_pkt']! <= s['dropped_queue']!, 'its losses are sender drops');
  const gap = COUNT - got1.length - got2.length - s['dropped_queue']!;
  assert.ok(gap >= 0, `no packet twice: ${got1.length} + ${got2.length} + drops`);
  assert.ok(gap <= BOUND_PACKETS, `gap ${gap} within the bound of ${BOUND_PACKETS} packets`);
  // The gap is below first_seq: the logged number and the first file bound it.
  assert.ok(gap <= firstSeq - got1.length, `gap within first_seq ${firstSeq} − ${got1.length}`);
  t.diagnostic(
    `first=${got1.length} gap=${gap} second=${got2.length} sender_drops=${s['dropped_queue']} bound=${BOUND_PACKETS}`,
  );
});
