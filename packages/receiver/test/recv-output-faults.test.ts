// Proves nflog-pcap-recv when its output fails: a full disk (a small tmpfs in a private mount namespace) is warned once, ingestion, the ring and queries go on, the file is cut back to its last whole record and what was not written waits and is written once there is room, out_pkt = the records in the file; and a SIGTERM with a slow FIFO reader ends the reader's stream on a record boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Push, Request } from 'zeromq';
import {
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
  readPcap,
  readPcapFile,
} from '@nflog-pipe/pcap-writer';
import { encodeFrame } from '@nflog-pipe/shared';
import {
  binPath,
  logLines,
  makeTempDir,
  mkfifo,
  parseLogCounters,
  pause,
  pollUntil,
  requirePrereqs,
  resume,
  spawnChild,
  startFifoReader,
  waitForLogCounters,
  withTimeout,
  TEST_TIMEOUT_MS,
  type ChildHandle,
} from '@nflog-pipe/testing';
import { keepWholeRecords, pushSocket } from './e2e-util.js';
import { liveRecords, numbered } from './helpers.js';

/** One frame per packet id, numbered(id, size) each, sequence = id. */
async function sendEach(push: Push, from: number, n: number, size = 32): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await push.send(
      encodeFrame(
        { linktype: 101, senderId: 1n, firstSeq: BigInt(i), count: 1 },
        liveRecords([numbered(i, size)]),
      ),
    );
  }
}

/** Whole records in a pcap file's bytes (a write in progress may have left part of one). */
function wholeRecords(file: Buffer): number {
  const c = new RecordCursor(file, PCAP_HEADER_BYTES);
  while (c.next() === RECORD_OK);
  return c.count;
}

function ids(pcap: { records: { data: Buffer }[] }): number[] {
  return pcap.records.map((r) => r.data.readUInt32BE(28));
}

/** Fills the file system of `dir` with a file `name` until ENOSPC; returns its path. */
function fillUp(dir: string, name: string): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const page = Buffer.alloc(4096, 0xee);
  try {
    for (let i = 0; i < 1 << 20; i++) writeSync(fd, page);
    assert.fail(`${dir} never filled up`);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ENOSPC', String(err));
  } finally {
    closeSync(fd);
  }
  return path;
}

async function stopReceiver(recv: ChildHandle): Promise<Record<string, number>> {
  recv.kill('SIGTERM');
  assert.deepEqual(await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver exit'), {
    code: 0,
    signal: null,
  });
  const stopped = logLines(recv.stderr(), 'stopped');
  assert.equal(stopped.length, 1, recv.stderr());
  return parseLogCounters(stopped[0]!);
}

test('file output on a full disk: warned once, ingestion, ring and queries go on, the file keeps whole records only, what was not written waits and is written once there is room; out_pkt = records in the file', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['unshare', 'mount'] })) return;
  const dir = await makeTempDir(t);
  const disk = join(dir, 'disk');
  await mkdir(disk);
  const out = join(disk, 'out.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const q = `ipc://${join(dir, 'q.sock')}`;
  // A 64 KiB tmpfs mounted in a mount namespace of the receiver's own: it goes away with it.
  const recv = spawnChild('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount -t tmpfs -o size=64k nfp-full-disk "$0" && exec "$@"',
    disk,
    process.execPath,
    binPath('nflog-pcap-recv'),
    ep,
    out,
    '--buffer-interface',
    q,
    '--stats-interval',
    '0.05',
    // Each frame to the file as it comes: the file is cut back to the last batch written whole,
    // so a window releasing what it held as one batch would make how many fit a matter of timing.
    '--reorder-window',
    '0',
  ]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  // The receiver's view of the tmpfs, from outside its mount namespace.
  const inNs = (path: string): string => `/proc/${recv.pid}/root${path}`;
  // Everything but the capture file's first page (its header is in it) is taken.
  const filler = fillUp(inNs(disk), 'filler');

  const push = pushSocket(t, ep);
  await sendEach(push, 0, 100);
  await recv.waitForStderr(/ WARN .*cannot write the pcap output.*ENOSPC/);
  const full = await waitForLogCounters(recv, 'stats', (c) => c['in_pkt'] === 100, '100 in');
  // Whole records only (readPcapFile refuses a partial one), exactly out_pkt of them: the
  // first ones; what the failed write had taken is cut off again, and what the writer had not
  // written waits in the queue, none lost.
  const atFull = await readPcapFile(inNs(out));
  const kept = atFull.records.length;
  assert.equal(kept, full['out_pkt'], JSON.stringify(full));
  assert.ok(kept > 10 && kept < 100, `${kept} records fit`);
  assert.deepEqual(
    ids(atFull),
    Array.from({ length: kept }, (_, i) => i),
  );
  assert.deepEqual(
    [full['out_pkt'], full['loss_fifo_pkt'], full['queued_pkt']],
    [kept, 0, 100 - kept],
    JSON.stringify(full),
  );

  // The ring and the query interface still serve all of it.
  const req = new Request({ linger: 0, receiveTimeout: TEST_TIMEOUT_MS });
  t.after(() => req.close());
  req.connect(q);
  await req.send('q');
  assert.deepEqual(
    ids(readPcap(Buffer.concat(await req.receive()))),
    Array.from({ length: 100 }, (_, i) => i),
  );

  // Room again: the receiver appends to the same file, first what waited, then new traffic.
  await unlink(filler);
  await recv.waitForStderr(/ pcap output writable again .*appended=true/);
  await sendEach(push, 100, 50);
  const done = await waitForLogCounters(
    recv,
    'stats',
    (c) => c['in_pkt'] === 150 && c['queued_pkt'] === 0,
    '150 in, none queued',
  );
  // The last writes may still be on their way to the file: wait until it holds out_pkt records.
  await pollUntil(
    () => wholeRecords(readFileSync(inNs(out))) === done['out_pkt'],
    () =>
      `${wholeRecords(readFileSync(inNs(out)))} records in the file, out_pkt ${done['out_pkt']}`,
  );
  // Whole records only, all of them, in order: nothing was lost to the full disk.
  const got = ids(await readPcapFile(inNs(out)));
  assert.deepEqual(
    got,
    Array.from({ length: 150 }, (_, i) => i),
  );
  assert.equal(done['loss_fifo_pkt'], 0);
  assert.match(recv.stderr(), / pcap output writable again .*lost_pkt=0/);
  assert.equal(logLines(recv.stderr(), 'stopped').length, 0);
  assert.equal(recv.stderr().match(/cannot write the pcap output/g)?.length, 1, 'warned once');

  const stopped = await stopReceiver(recv);
  assert.deepEqual(
    [stopped['in_pkt'], stopped['out_pkt'], stopped['loss_fifo_pkt']],
    [150, 150, 0],
  );
  t.diagnostic(`full disk: ${kept} records fitted, ${100 - kept} waited for room, 150 in the file`);
});

test('SIGTERM with a slow FIFO reader: its stream ends on a record boundary, out_pkt = what it got, the rest counted', async (t) => {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  const got = join(dir, 'got.pcap');
  const ep = `ipc://${join(dir, 'in.sock')}`;
  const recv = spawnChild(process.execPath, [
    binPath('nflog-pcap-recv'),
    ep,
    fifo,
    '--flush-timeout',
    '0.2',
    '--stats-interval',
    '0.05',
    // The kernel's 64 KiB pipe, which the records below overfill.
    '--fifo-pipe-size',
    '0',
  ]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  const reader = startFifoReader(fifo, got, 0);
  t.after(() => reader.kill('SIGKILL'));
  await recv.waitForStderr(/FIFO reader attached/);
  await pause(reader); // reads nothing more until resumed
  const push = pushSocket(t, ep);
  // 77-byte records: a full 64 KiB pipe ends inside one.
  const N = 1000;
  for (let f = 0; f < N / 25; f++) {
    const batch = Array.from({ length: 25 }, (_, i) => numbered(f * 25 + i, 33));
    await push.send(
      encodeFrame(
        { linktype: 101, senderId: 1n, firstSeq: BigInt(f * 25), count: 25 },
        liveRecords(batch),
      ),
    );
  }
  await waitForLogCounters(recv, 'stats', (c) => c['in_pkt'] === N, `${N} in`);
  recv.kill('SIGTERM');
  // The flush timeout passed with the reader still stopped: now it may read again.
  await recv.waitForStderr(/flush timeout: the FIFO reader is slow; finishing the record/);
  resume(reader);
  assert.deepEqual(await withTimeout(recv.exited, TEST_TIMEOUT_MS, 'receiver exit'), {
    code: 0,
    signal: null,
  });
  assert.equal((await withTimeout(reader.exited, TEST_TIMEOUT_MS, 'reader exit')).code, 0);
  const stopped = parseLogCounters(logLines(recv.stderr(), 'stopped')[0]!);
  assert.equal(keepWholeRecords(got), 0, 'no partial record at the end of the stream');
  const pcap = await readPcapFile(got);
  const n = pcap.records.length;
  assert.ok(n > 800 && n < N, `${n} records reached the reader`);
  assert.deepEqual(
    ids(pcap),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.deepEqual(
    [stopped['in_pkt'], stopped['out_pkt'], stopped['loss_fifo_pkt'], stopped['queued_pkt']],
    [N, n, N - n, 0],
  );
  t.diagnostic(`slow reader: ${n} whole records reached it, ${N - n} counted lost`);
});
