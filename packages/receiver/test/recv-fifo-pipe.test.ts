// Proves nflog-pcap-recv's --fifo-pipe-size: each reader's pipe is raised (seen from the reader's end), 0 keeps the kernel's 64 KiB, a pipe capped at pipe-max-size is warned once, and a reader leaving a full 1 MiB pipe costs exactly the records it did not get (out_pkt + loss.fifo.pkt = sent).
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  PCAP_HEADER_BYTES,
  PIPE_DEFAULT_BYTES,
  RECORD_OK,
  RecordCursor,
  getPipeSize,
  pipeMaxSizeBytes,
  pipeUnread,
} from '@nflog-pipe/pcap-writer';
import { encodeFrame } from '@nflog-pipe/shared';
import {
  binPath,
  makeTempDir,
  mkfifo,
  pollUntil,
  requirePrereqs,
  spawnChild,
  stopCleanly,
  waitForLogCounters,
  waitForLogLines,
  type ChildHandle,
} from '@nflog-pipe/testing';
import { pushSocket, readFifo, startReceiver } from './e2e-util.js';
import { liveRecords, logFields, numbered } from './helpers.js';

const MIB = 1048576;
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** A FIFO, the receiver's endpoint in the same fresh directory. */
async function setup(t: TestContext): Promise<{ dir: string; fifo: string; ep: string }> {
  const dir = await makeTempDir(t);
  const fifo = join(dir, 'out.fifo');
  await mkfifo(fifo);
  return { dir, fifo, ep: `ipc://${join(dir, 'in.sock')}` };
}

/** A reader's end opened in this process (closed in t.after unless the test closed it). */
function openReader(t: TestContext, fifo: string): { fd: number; close(): void } {
  const fd = openSync(fifo, READ_FLAGS);
  let open = true;
  const close = (): void => {
    if (open) closeSync(fd);
    open = false;
  };
  t.after(close);
  return { fd, close };
}

/** Frames of 100 records of 1400-byte UDP packets (~144 KiB), numbered from `first`. */
function frames(n: number, first = 0): Buffer[] {
  return Array.from({ length: n }, (_, f) => {
    const ids = Array.from({ length: 100 }, (_, i) => first + f * 100 + i);
    return encodeFrame(
      { linktype: 101, senderId: 7n, firstSeq: BigInt(ids[0]!), count: ids.length },
      liveRecords(ids.map((i) => numbered(i, 1400))),
    );
  });
}

function wholeRecords(stream: Buffer): number {
  const c = new RecordCursor(stream, PCAP_HEADER_BYTES);
  while (c.next() === RECORD_OK);
  return c.count;
}

test('by default each reader gets a 1 MiB pipe; a reader leaving it full loses exactly the records it did not get, the next starts fresh', async (t) => {
  const { dir, fifo, ep } = await setup(t);
  const recv = await startReceiver(t, [ep, fifo, '--stats-interval', '0.05', '--wire', 'v1']);
  const reader = openReader(t, fifo);
  const attached = await waitForLogLines(recv, 'FIFO reader attached', 1);
  assert.equal(logFields(recv.stderr(), 'FIFO reader attached')['pipe_bytes'], String(MIB));
  assert.match(attached[0]!, / pipe_bytes=1048576\b/);
  assert.equal(getPipeSize(reader.fd), MIB); // what the reader's end sees

  // ~2.9 MiB: the pipe fills, the rest waits in the receiver (--fifo-buffer 16 MiB).
  const push = pushSocket(t, ep);
  for (const f of frames(20)) await push.send(f);
  const sent = 2000;
  await waitForLogCounters(
    recv,
    'stats',
    (c) => c['in_pkt'] === sent && c['reorder_held_pkt'] === 0,
    'all frames in and out of the reorder window',
  );
  await pollUntil(
    () => pipeUnread(reader.fd) > MIB - 64 * 1024,
    () => `pipe holds ${pipeUnread(reader.fd)} bytes`,
  );
  // Take part of it, mid-record, and leave: the pipe still holds most of 1 MiB.
  const k = 200_003;
  const got = Buffer.alloc(k);
  let n = 0;
  while (n < k) n += readSync(reader.fd, got, n, k - n, null);
  reader.close();
  const delivered = wholeRecords(got);
  const gone = await waitForLogCounters(
    recv,
    'stats',
    (c) => c['readers'] === 1 && (c['loss_fifo_pkt'] ?? 0) > 0 && c['queued_pkt'] === 0,
    'the reader counted gone',
  );
  assert.equal(gone['out_pkt'], delivered);
  assert.equal(gone['loss_fifo_pkt'], sent - delivered);
  assert.ok(sent - delivered > (MIB - k) / 1460, 'the pipe tail is counted lost');

  // The next reader: a new pipe, raised again, a header and whole records.
  const next = readFifo(fifo, join(dir, 'next.pcap'));
  await waitForLogLines(recv, 'FIFO reader attached', 2);
  for (const f of frames(3, sent)) await push.send(f);
  await waitForLogCounters(recv, 'stats', (c) => c['out_pkt'] === delivered + 300, 'written');
  await stopCleanly(recv, 'receiver');
  assert.equal((await next).records, 300);
  const stopped = logFields(recv.stderr(), 'stopped');
  assert.equal(Number(stopped['out_pkt']) + Number(stopped['loss_fifo_pkt']), sent + 300);
});

test('--fifo-pipe-size 0 leaves the kernel pipe alone; 0.25 gives 256 KiB', async (t) => {
  for (const [arg, bytes] of [
    ['0', PIPE_DEFAULT_BYTES],
    ['0.25', 256 * 1024],
  ] as const) {
    const { fifo, ep } = await setup(t);
    const recv = await startReceiver(t, [ep, fifo, '--fifo-pipe-size', arg]);
    const reader = openReader(t, fifo);
    const [line] = await waitForLogLines(recv, 'FIFO reader attached', 1);
    assert.equal(getPipeSize(reader.fd), bytes, arg);
    if (arg === '0') assert.doesNotMatch(line!, /pipe_bytes=/);
    else assert.match(line!, new RegExp(` pipe_bytes=${bytes}\\b`));
    await stopCleanly(recv, 'receiver');
  }
});

test('above pipe-max-size without CAP_SYS_RESOURCE: pipe-max-size, warned once across readers', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['setpriv'] })) return;
  const { fifo, ep } = await setup(t);
  const max = pipeMaxSizeBytes();
  const askMiB = (4 * max) / MIB;
  const recv: ChildHandle = spawnChild('setpriv', [
    '--bounding-set',
    '-sys_resource',
    process.execPath,
    binPath('nflog-pcap-recv'),
    ep,
    fifo,
    '--fifo-pipe-size',
    String(askMiB),
  ]);
  t.after(() => recv.kill('SIGKILL'));
  await recv.waitForStderr(/ started /);
  for (let i = 1; i <= 2; i++) {
    const reader = openReader(t, fifo);
    await waitForLogLines(recv, 'FIFO reader attached', i);
    assert.equal(getPipeSize(reader.fd), max);
    reader.close();
    if (i === 1) await recv.waitForStderr(/FIFO reader gone/);
  }
  const warned = recv
    .stderr()
    .split('\n')
    .filter((l) => l.includes(' WARN nflog-pcap-recv: FIFO pipe smaller than --fifo-pipe-size '));
  assert.equal(warned.length, 1, recv.stderr());
  assert.match(
    warned[0]!,
    new RegExp(` requested_bytes=${4 * max} pipe_bytes=${max} pipe_max_bytes=${max} `),
  );
  assert.match(warned[0]!, /pipe-max-size/);
  await stopCleanly(recv, 'receiver');
});

test('--fifo-pipe-size must fit F_SETPIPE_SZ', async (t) => {
  const { fifo, ep } = await setup(t);
  const r = spawnChild(process.execPath, [
    binPath('nflog-pcap-recv'),
    ep,
    fifo,
    '--fifo-pipe-size',
    '4096',
  ]);
  const { code } = await r.exited;
  assert.equal(code, 2);
  assert.match(r.stderr(), /^nflog-pcap-recv: .*--fifo-pipe-size must be below 2048 MiB/m);
});
