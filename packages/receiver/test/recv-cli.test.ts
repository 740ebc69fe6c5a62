// Proves nflog-pcap-recv as a process: malformed floods counted, per-sender gaps exact (heartbeats included), FIFO output complete, --pcap-nsec converted once everywhere, SIGTERM exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readPcap, readPcapFile } from '@nflog-pipe/pcap-writer';
import { encodeFrame } from '@nflog-pipe/shared';
import { makeTempDir, mkfifo, withTimeout, TEST_TIMEOUT_MS, runTool } from '@nflog-pipe/testing';
import { pushSocket, readFifo, startReceiver } from './e2e-util.js';
import { liveRecords, logFields, numbered, records } from './helpers.js';

/** A frame of numbered packets `ids`, stamped by `stamp` (default: now, as a live sender does). */
function frame(
  senderId: bigint,
  firstSeq: bigint,
  ids: number[],
  stamp: (pkts: Buffer[]) => Buffer = liveRecords,
): Buffer {
  return encodeFrame(
    { linktype: 101, senderId, firstSeq, count: ids.length },
    stamp(ids.map((i) => numbered(i))),
  );
}

test('malformed flood is counted and skipped; two senders, a restart and gaps are counted exactly; the FIFO gets every good packet', async (t) => {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [ep, fifo, '--stats-interval', '0.05', '--wire', 'v1']);
  const out = join(dir, 'r.pcap');
  const reader = readFifo(fifo, out);
  const a = pushSocket(t, ep);
  const b = pushSocket(t, ep);

  const good = frame(1n, 0n, [0]);
  const malformed: Buffer[] = [
    randomBytes(3),
    randomBytes(100),
    Buffer.alloc(0),
    good.subarray(0, 30), // truncated header
    good.subarray(0, good.length - 1), // truncated record
    Buffer.concat([good, Buffer.alloc(4)]), // trailing bytes
  ];
  const lying = Buffer.from(good);
  lying.writeUInt32LE(5, 8); // count says 5
  malformed.push(lying);
  const lyingLen = Buffer.from(good);
  lyingLen.writeUInt32LE(1 << 30, 12); // recordsBytes 1 GiB
  malformed.push(lyingLen);
  const lyingIncl = Buffer.from(good);
  lyingIncl.writeUInt32LE(0xffffff, 40 + 8); // incl_len past the end
  malformed.push(lyingIncl);
  for (let i = 0; i < 200; i++) malformed.push(randomBytes(1 + (i % 97)));

  // Sender A (id 1): 0..9, then 10 lost, then 11..29. Sender B (id 2): 100.. numbering, 3 lost,
  // then B restarts as id 3 (numbers from 0 again: not a gap). Malformed frames in between.
  let id = 0;
  const ids = (n: number): number[] => Array.from({ length: n }, () => id++);
  let bad = 0;
  const sendBad = async (n: number): Promise<void> => {
    for (let i = 0; i < n && bad < malformed.length; i++) await b.send(malformed[bad++]!);
  };
  await a.send(frame(1n, 0n, ids(10)));
  await sendBad(50);
  await a.send(frame(1n, 11n, ids(19)));
  await b.send(frame(2n, 100n, ids(5)));
  await sendBad(50);
  await b.send(frame(2n, 108n, ids(5)));
  await b.send(frame(3n, 0n, ids(5)));
  await sendBad(malformed.length);
  await a.send(frame(1n, 30n, ids(1)));
  const total = id;
  const stats = await recv.waitForStderr(
    new RegExp(`stats .*in_pkt=${total} .*bad_frames=${malformed.length} `),
  );
  assert.ok(stats);
  await recv.waitForStderr(/FIFO reader attached/);

  recv.kill('SIGTERM');
  assert.deepEqual(await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver exit'), {
    code: 0,
    signal: null,
  });
  await reader.catch((err: unknown) => {
    console.error(recv.stderr());
    throw err;
  });
  const f = logFields(recv.stderr(), 'stopped');
  assert.equal(f['in_pkt'], String(total));
  assert.equal(f['out_pkt'], String(total));
  assert.equal(f['loss_network_pkt'], '4');
  assert.equal(f['loss_fifo_pkt'], '0');
  assert.equal(f['bad_frames'], String(malformed.length));
  assert.equal(f['senders'], '3');
  assert.match(f['per_sender'] ?? '', /0000000000000002:10\/3/);
  assert.match(f['per_sender'] ?? '', /0000000000000001:30\/1/);
  const pcap = await readPcapFile(out);
  // Packets of one ZeroMQ connection arrive in order; across the two connections they interleave.
  assert.deepEqual(
    pcap.records.map((r) => r.data.readUInt32BE(28)).sort((x, y) => x - y),
    Array.from({ length: total }, (_, i) => i),
  );
});

test('heartbeats (count-0 frames) are sequence observations only: a gap before one is counted exactly; their linktype makes no bad frame', async (t) => {
  const dir = await makeTempDir(t);
  const outFile = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [ep, outFile, '--stats-interval', '0.05']);
  const push = pushSocket(t, ep); // one connection: the receiver sees this order
  const heartbeat = (senderId: bigint, firstSeq: bigint, linktype = 101): Buffer =>
    encodeFrame({ linktype, senderId, firstSeq, count: 0 }, Buffer.alloc(0));
  // Sender 2 (an NFLOG-linktype sender) speaks first, with heartbeats only: 6 packets lost.
  await push.send(heartbeat(2n, 0n, 239));
  await push.send(heartbeat(2n, 6n, 239));
  // Sender 1: packets 0..2, then 3..6 dropped at the sender and shown by a heartbeat only
  // (the tail drops of a stopping sender), then a repeated heartbeat and a frame (no new gap).
  await push.send(frame(1n, 0n, [0, 1, 2]));
  await push.send(heartbeat(1n, 7n));
  await push.send(heartbeat(1n, 7n));
  await push.send(frame(1n, 7n, [3, 4]));
  await recv.waitForStderr(/stats .*in_pkt=5 .*loss_network_pkt=10 /);
  recv.kill('SIGTERM');
  assert.equal((await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'exit')).code, 0);
  const f = logFields(recv.stderr(), 'stopped');
  assert.deepEqual(
    [f['in_pkt'], f['loss_network_pkt'], f['bad_frames'], f['behind_frames'], f['senders']],
    ['5', '10', '0', '0', '2'],
  );
  assert.equal(f['per_sender'], '0000000000000002:0/6,0000000000000001:5/4');
  assert.doesNotMatch(recv.stderr(), / WARN /);
  // The output has the configured linktype (101 by default) from the start; the NFLOG
  // heartbeats that spoke first did not change it.
  assert.match(recv.stderr(), / started .*linktype=101/);
  const pcap = await readPcapFile(outFile);
  assert.equal(pcap.header.linktype, 101);
  assert.deepEqual(
    pcap.records.map((r) => r.data),
    [0, 1, 2, 3, 4].map((i) => numbered(i)),
  );
});

test('legacy frames (plain and rate-controlled) are accepted with --wire auto', async (t) => {
  const { encodeLegacyPacket } = await import('@nflog-pipe/shared');
  const dir = await makeTempDir(t);
  const outFile = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = await startReceiver(t, [ep, outFile, '--stats-interval', '0.05', '--rate-control']);
  const push = pushSocket(t, ep);
  const pkts = [0, 1, 2].map((i) => numbered(i));
  for (const [i, p] of pkts.entries()) {
    await push.send(
      Buffer.concat([Buffer.from([0]), encodeLegacyPacket(1_700_000_000, i, p.length, p)]),
    );
  }
  await push.send(frame(9n, 0n, [3])); // v1 in the same stream
  await recv.waitForStderr(/stats .*in_pkt=4 /);
  recv.kill('SIGINT');
  assert.equal((await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'exit')).code, 0);
  const pcap = await readPcapFile(outFile);
  assert.deepEqual(
    pcap.records.map((r) => r.data),
    [...pkts, numbered(3)],
  );
});

test('--pcap-nsec: v1, compressed v1 and legacy records reach the file and the ring converted once; an unconvertible ts_usec is a bad frame', async (t) => {
  const { encodeLegacyPacket } = await import('@nflog-pipe/shared');
  const { compressFrame } = await import('@nflog-pipe/compress');
  const { Request } = await import('zeromq');
  const dir = await makeTempDir(t);
  const outFile = join(dir, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const q = `ipc://${join(dir, 'q.sock')}`;
  // The records are stamped to show the conversion, not in the order they are sent: the
  // reorder window is off, so the file keeps arrival order as the ring does.
  const recv = await startReceiver(t, [
    ep,
    outFile,
    '--reorder-window',
    '0',
    '--pcap-nsec',
    '--rate-control',
    '--buffer-interface',
    q,
    '--stats-interval',
    '0.05',
  ]);
  const push = pushSocket(t, ep);
  const TS = 1_700_000_000;
  const enc = (ids: number[], firstUsec: number): Buffer =>
    encodeFrame(
      { linktype: 101, senderId: 5n, firstSeq: BigInt(ids[0]!), count: ids.length },
      records(
        ids.map((i) => numbered(i)),
        TS,
        firstUsec,
      ),
    );
  await push.send(enc([0, 1], 999_998)); // µs 999998, 999999
  const compressed = compressFrame(enc([2, 3, 4], 123_456));
  assert.notEqual(compressed[5]! & 1, 0, 'the frame is really compressed');
  await push.send(compressed);
  const p5 = numbered(5);
  await push.send(Buffer.concat([Buffer.from([0]), encodeLegacyPacket(TS, 42, p5.length, p5)]));
  await push.send(enc([6], 4_294_968)); // cannot be microseconds: bad, not wrapped
  await push.send(enc([7], 4_294_967)); // the largest that can
  await recv.waitForStderr(/stats .*in_pkt=7 .*bad_frames=1 /);
  const fracs = [999_998, 999_999, 123_456, 123_457, 123_458, 42, 4_294_967].map((u) => u * 1000);
  const ids = [0, 1, 2, 3, 4, 5, 7];

  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const dump = readPcap(Buffer.concat(await req.receive()));
  recv.kill('SIGTERM');
  assert.equal((await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'exit')).code, 0);
  assert.match(recv.stderr(), /bad frame skipped .*ERR_WIRE_BAD_TIMESTAMP/);
  for (const pcap of [await readPcapFile(outFile), dump]) {
    assert.equal(pcap.header.nanosecond, true);
    assert.deepEqual(
      pcap.records.map((r) => [r.tsSec, r.tsFrac]),
      fracs.map((f) => [TS, f]),
    );
    assert.deepEqual(
      pcap.records.map((r) => r.data),
      ids.map((i) => numbered(i)),
    );
  }
});

test('usage errors exit 2; an unusable endpoint exits 1 with one line', async () => {
  assert.equal((await runTool('nflog-pcap-recv', ['ipc:///tmp/x'])).code, 2);
  const badEp = await runTool('nflog-pcap-recv', ['tcp://256.0.0.1:1', '-']);
  assert.equal(badEp.code, 1);
  assert.match(badEp.stderr, /^nflog-pcap-recv: .+\n$/);
});

test('the ring after wrapping around many times: a dump is exactly the newest records that fit --buffer-window, byte for byte', async (t) => {
  const { Request } = await import('zeromq');
  const dir = await makeTempDir(t);
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const q = `ipc://${join(dir, 'q.sock')}`;
  const windowBytes = Math.round(0.01 * 1024 * 1024); // --buffer-window 0.01 (MiB)
  const recv = await startReceiver(t, [
    ep,
    join(dir, 'out.pcap'),
    '--buffer-interface',
    q,
    '--buffer-window',
    '0.01',
    '--stats-interval',
    '0.05',
  ]);
  const push = pushSocket(t, ep);
  const total = 2000; // 152 KB of records through a 10 KiB window
  for (let f = 0; f < total / 10; f++) {
    await push.send(
      frame(
        1n,
        BigInt(f * 10),
        Array.from({ length: 10 }, (_, i) => f * 10 + i),
        (pkts) => records(pkts),
      ),
    );
  }
  await recv.waitForStderr(new RegExp(`stats .*in_pkt=${total} `));
  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  const dump = readPcap(Buffer.concat(await req.receive()));
  const kept = Math.floor(windowBytes / 76); // 76-byte records
  const newest = Array.from({ length: kept }, (_, i) => total - kept + i);
  assert.deepEqual(
    dump.records.map((r) => r.data),
    newest.map((i) => numbered(i)),
  );
  // Timestamps too: records() stamps each frame's records 1700000000.000000 + its index.
  assert.deepEqual(
    dump.records.map((r) => [r.tsSec, r.tsFrac]),
    newest.map((i) => [1_700_000_000, i % 10]),
  );
  const f = logFields(recv.stderr(), 'stats');
  assert.equal(f['ring_pkt'], String(kept));
  recv.kill('SIGTERM');
  assert.equal((await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'exit')).code, 0);
});
