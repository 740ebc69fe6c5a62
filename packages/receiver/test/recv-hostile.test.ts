// Proves nflog-pcap-recv against hostile peers: the output linktype is not chosen by whoever speaks first, a forged far sequence jump is a bad frame (not loss), a small deflate claiming millions of records or records shorter than an IP header are bad frames, and messages over ZMQ_MAXMSGSIZE are refused unread while real traffic flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { Request } from 'zeromq';
import { PCAP_HEADER_BYTES, readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import {
  MIB,
  WIRE_FLAG_COMPRESSED,
  boundedReceiveOptions,
  encodeFrame,
  maxMessageBytes,
} from '@nflog-pipe/shared';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS, type ChildHandle } from '@nflog-pipe/testing';
import { pushSocket, startReceiver } from './e2e-util.js';
import { liveRecords, logFields, numbered, records } from './helpers.js';

/** A frame of `ids` (numbered packets) stamped now, as a live sender's are. */
function liveFrame(senderId: bigint, firstSeq: bigint, ids: number[], linktype = 101): Buffer {
  return encodeFrame(
    { linktype, senderId, firstSeq, count: ids.length },
    liveRecords(ids.map((i) => numbered(i))),
  );
}

async function stop(recv: ChildHandle): Promise<Record<string, string>> {
  recv.kill('SIGTERM');
  assert.deepEqual(await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver exit'), {
    code: 0,
    signal: null,
  });
  return logFields(recv.stderr(), 'stopped');
}

function ids(pcap: { records: { data: Buffer }[] }): number[] {
  return pcap.records.map((r) => r.data.readUInt32BE(28));
}

test('a linktype-1 frame arriving first: the output is linktype 101 from the start, that frame is bad, every real frame is written', async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [ep, out, '--stats-interval', '0.05']);
  // The output is open (header written) before any frame arrived.
  const header = await readFile(out);
  assert.equal(header.length, PCAP_HEADER_BYTES);
  assert.equal(header.readUInt32LE(20), 101);
  const push = pushSocket(t, ep);
  await push.send(liveFrame(9n, 0n, [100, 101], 1)); // forged: Ethernet
  await push.send(liveFrame(1n, 0n, [0, 1, 2]));
  await push.send(liveFrame(1n, 3n, [3, 4]));
  await recv.waitForStderr(/stats .*in_pkt=5 .*bad_frames=1 /);
  const f = await stop(recv);
  assert.deepEqual([f['in_pkt'], f['out_pkt'], f['bad_frames']], ['5', '5', '1']);
  assert.match(
    recv.stderr(),
    /dropping frames of a linktype the receiver does not take: only 101 \(raw IP\) and 239 \(NFLOG\) .*linktype=1 output_linktype=101/,
  );
  const pcap = await readPcapFile(out);
  assert.equal(pcap.header.linktype, 101);
  assert.deepEqual(ids(pcap), [0, 1, 2, 3, 4]);
});

test("a forged frame with a real sender's id and a sequence number 999,550,000 ahead is a bad frame, not loss", async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [ep, out, '--stats-interval', '0.05']);
  const real = pushSocket(t, ep);
  const forger = pushSocket(t, ep);
  const id = 0x5eed5eed5eed5eedn;
  await real.send(liveFrame(id, 1000n, [0, 1, 2, 3]));
  await recv.waitForStderr(/stats .*in_pkt=4 /);
  await forger.send(liveFrame(id, 1004n + 999_550_000n, [50, 51]));
  await recv.waitForStderr(/stats .*bad_frames=1 /);
  // The real sender goes on: 2 packets really lost (1004, 1005), then 1006.. delivered.
  await real.send(liveFrame(id, 1006n, [4, 5, 6]));
  await recv.waitForStderr(/stats .*in_pkt=7 /);
  const f = await stop(recv);
  assert.deepEqual(
    [f['in_pkt'], f['out_pkt'], f['loss_network_pkt'], f['bad_frames'], f['senders']],
    ['7', '7', '2', '1', '1'],
  );
  assert.equal(f['per_sender'], '5eed5eed5eed5eed:7/2');
  assert.match(recv.stderr(), /bad frame skipped .*code=ERR_RECV_SEQUENCE_JUMP/);
  assert.deepEqual(ids(await readPcapFile(out)), [0, 1, 2, 3, 4, 5, 6]);
});

test('a 65 KB deflate claiming 4,194,304 records, and records shorter than an IP header, are bad frames; nothing of them is written', async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  // --max-frame 64 (the size the bomb claims) so the count check, not the size cap, refuses it.
  const recv = await startReceiver(t, [ep, out, '--max-frame', '64', '--stats-interval', '0.05']);
  const push = pushSocket(t, ep);
  const zeros = deflateRawSync(Buffer.alloc(64 * MIB));
  assert.ok(zeros.length < 70_000, `the bomb is ${zeros.length} bytes`);
  const bomb = encodeFrame(
    {
      linktype: 101,
      senderId: 3n,
      firstSeq: 0n,
      count: 4_194_304,
      flags: WIRE_FLAG_COMPRESSED,
      rawBytes: 64 * MIB,
    },
    zeros,
  );
  // Two records of 19 and 21 bytes: room for two IP headers, but the first cannot be one.
  const short = encodeFrame(
    { linktype: 101, senderId: 4n, firstSeq: 0n, count: 2 },
    records([Buffer.alloc(19, 0x45), Buffer.alloc(21, 0x45)]),
  );
  await push.send(bomb);
  await push.send(short);
  await push.send(liveFrame(1n, 0n, [0, 1]));
  await recv.waitForStderr(/stats .*in_pkt=2 .*bad_frames=2 /);
  const f = await stop(recv);
  assert.deepEqual([f['in_pkt'], f['out_pkt'], f['bad_frames']], ['2', '2', '2']);
  assert.match(recv.stderr(), /bad frame skipped .*code=ERR_WIRE_COUNT_MISMATCH/);
  assert.match(recv.stderr(), /bad frame skipped .*code=ERR_WIRE_SHORT_RECORD/);
  assert.deepEqual(ids(await readPcapFile(out)), [0, 1]);
});

test('20 messages of 200 MiB are refused unread (ZMQ_MAXMSGSIZE, one disconnect each) while a real sender is delivered exactly; the query socket refuses oversized requests and keeps serving', async (t) => {
  const dir = await makeTempDir(t);
  const out = join(dir, 'out.pcap');
  const q = `ipc://${join(dir, 'q.sock')}`;
  const recv = await startReceiver(t, [
    'tcp://127.0.0.1:*',
    out,
    '--buffer-interface',
    q,
    '--stats-interval',
    '0.05',
  ]);
  const started = logFields(recv.stderr(), 'started');
  const ep = started['endpoints']!;
  // The defaults: --max-frame 2, --receive-queue 256 (MiB), --wire auto.
  const bounds = boundedReceiveOptions(
    maxMessageBytes({ v1: true, legacy: true, rateControl: false, maxRawBytes: 2 * MIB }),
    256 * MIB,
  );
  assert.deepEqual(
    [Number(started['max_msg_bytes']), Number(started['rcvhwm'])],
    [bounds.maxMessageSize, bounds.receiveHighWaterMark],
  );
  assert.ok(bounds.receiveHighWaterMark * bounds.maxMessageSize <= 256 * MIB);
  assert.equal(bounds.receiveHighWaterMark, 124);

  const real = pushSocket(t, ep);
  const hostile = pushSocket(t, ep);
  const huge = Buffer.alloc(200 * MIB); // one buffer, sent 20 times without copies
  const sending = (async () => {
    for (let i = 0; i < 20; i++) await hostile.send(huge);
  })();
  for (let i = 0; i < 50; i++) await real.send(liveFrame(1n, BigInt(i * 2), [i * 2, i * 2 + 1]));
  await sending;
  await recv.waitForStderr(/stats .*in_pkt=100 .*disconnects=20 /);

  // A request larger than a query can be (64 KiB) is refused the same way; others are served.
  const big = new Request({ linger: 0, receiveTimeout: 500 });
  t.after(() => big.close());
  big.connect(q);
  await big.send(Buffer.alloc(1 * MIB, 0x7b));
  await assert.rejects(big.receive(), { code: 'EAGAIN' });
  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const dump = readPcap(Buffer.concat(await req.receive()));
  assert.deepEqual(
    ids(dump),
    Array.from({ length: 100 }, (_, i) => i),
  );

  const f = await stop(recv);
  assert.deepEqual(
    [f['in_pkt'], f['out_pkt'], f['loss_network_pkt'], f['bad_frames']],
    ['100', '100', '0', '0'],
  );
  assert.ok(Number(f['disconnects']) >= 20);
  assert.match(recv.stderr(), /a peer connection was dropped/);
  assert.deepEqual(
    ids(await readPcapFile(out)),
    Array.from({ length: 100 }, (_, i) => i),
  );
});
