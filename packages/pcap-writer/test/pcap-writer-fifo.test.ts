// Proves PcapWriter on a real FIFO: waits for a reader, back-pressure without blocking, EPIPE then reopen.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, constants as fsConstants, open as openCb } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { PcapWriteError, PcapWriter, encodePcapHeader, encodeRecords } from '../src/index.js';
import {
  Children,
  TEST_TIMEOUT_MS,
  makeTempFifo,
  startFifoReader,
  withTimeout,
} from '@nflog-pipe/testing';

const openFd = promisify(openCb);

/** `count` records of `size` bytes each; byte values depend on `seed` so batches differ. */
function batch(seed: number, count: number, size: number): Buffer {
  return encodeRecords(
    Array.from({ length: count }, (_, i) => ({
      tsSec: 1700000000 + seed,
      tsFrac: i,
      data: Buffer.alloc(size, (seed * 31 + i) & 0xff),
    })),
  );
}

interface ReadSide {
  fd: number;
  /** Until a stream takes the fd over, t.after() closes it. */
  owned: boolean;
}

/**
 * Open the read side without blocking and without reading yet. A FIFO read with no writer
 * returns EOF, so the caller wraps it in a stream only once the writer is open.
 */
async function openReadSide(t: TestContext, fifo: string): Promise<ReadSide> {
  const side = {
    fd: await openFd(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK),
    owned: true,
  };
  t.after(() => {
    if (side.owned) closeSync(side.fd);
  });
  return side;
}

/** A reading stream that takes over the read fd, collecting every byte. */
function startReading(
  t: TestContext,
  side: ReadSide,
): { socket: Socket; bytes: () => Buffer; ended: Promise<unknown> } {
  const socket = new Socket({ fd: side.fd, readable: true, writable: false });
  side.owned = false;
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(socket, 'end');
  return { socket, bytes: () => Buffer.concat(chunks), ended };
}

test('open() on a FIFO resolves once a reader (cat) opens it; the reader gets header + records', async (t) => {
  const fifo = await makeTempFifo(t);
  const out = join(fifo, '..', 'cat.out');
  let settled = false;
  const opening = PcapWriter.open(fifo, { retryMs: 10, nanosecond: true, linktype: 239 }).finally(
    () => {
      settled = true;
    },
  );
  // still waiting: nothing has the FIFO open for reading
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false);

  const cat = new Children(t).add(startFifoReader(fifo, out));

  const writer = await withTimeout(opening, TEST_TIMEOUT_MS, 'PcapWriter.open on the FIFO');
  assert.equal(writer.kind, 'fifo');
  const a = batch(1, 3, 100);
  const b = batch(2, 5, 1500);
  assert.equal(writer.write(a), true);
  assert.equal(writer.write(b), true);
  const closing = writer.close();
  assert.equal(writer.close(), closing); // idempotent: the same promise
  await withTimeout(closing, TEST_TIMEOUT_MS, 'close');
  await writer.close();
  assert.equal(writer.write(a), false); // closed: refused, nothing written

  const { code } = await withTimeout(cat.exited, TEST_TIMEOUT_MS, 'cat exits on EOF');
  assert.equal(code, 0, cat.stderr());
  const expected = Buffer.concat([encodePcapHeader({ nanosecond: true, linktype: 239 }), a, b]);
  assert.deepEqual(await readFile(out), expected);
});

test('open() with no reader rejects with AbortError when the signal aborts', async (t) => {
  const fifo = await makeTempFifo(t);
  const reason = new Error('stop waiting');
  const ac = new AbortController();
  const opening = PcapWriter.open(fifo, { retryMs: 5, signal: ac.signal });
  setTimeout(() => ac.abort(reason), 50); // trigger only; the assertion below does not depend on time
  await assert.rejects(withTimeout(opening, TEST_TIMEOUT_MS, 'abort'), (err: unknown) => {
    assert.equal((err as Error).name, 'AbortError');
    assert.equal((err as { code?: string }).code, 'ABORT_ERR');
    assert.equal((err as Error).cause, reason);
    return true;
  });
  // an already-aborted signal rejects at once, without touching the FIFO
  await assert.rejects(PcapWriter.open(fifo, { signal: AbortSignal.abort() }), {
    code: 'ABORT_ERR',
  });
});

test('a reader that does not read gives back-pressure without blocking the loop, then drain', async (t) => {
  const fifo = await makeTempFifo(t);
  const readFd = await openReadSide(t, fifo);
  const hwm = 256 * 1024;
  const writer = await withTimeout(
    PcapWriter.open(fifo, { highWaterMarkBytes: hwm }),
    TEST_TIMEOUT_MS,
    'open',
  );
  t.after(() => writer.destroy());

  const sent: Buffer[] = [encodePcapHeader()];
  let accepted = true;
  for (let i = 0; i < 200 && accepted; i++) {
    const b = batch(i, 16, 4000); // ~64 KiB per write
    sent.push(b);
    accepted = writer.write(b);
  }
  // the pipe holds 64 KiB, so within 200 writes (12.8 MiB) we must have hit the high-water mark
  assert.equal(accepted, false, 'write() never returned false');
  assert.ok(writer.pendingBytes >= hwm, `pendingBytes ${writer.pendingBytes} below ${hwm}`);

  // The event loop is not blocked by the full pipe: an immediate and a timer both run. Nobody
  // reads, so no 'drain' may come, and the queue stays above the drain mark (bytes the pipe took
  // synchronously are confirmed on the next turn, hence not "still >= hwm").
  let drains = 0;
  writer.on('drain', () => drains++);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(drains, 0);
  assert.ok(
    writer.pendingBytes > hwm / 2,
    `pendingBytes ${writer.pendingBytes} fell although nobody reads`,
  );

  const drained = once(writer, 'drain');
  const reader = startReading(t, readFd);
  await withTimeout(drained, TEST_TIMEOUT_MS, 'drain');
  assert.equal(drains, 1);
  assert.ok(writer.pendingBytes <= hwm / 2);
  await withTimeout(writer.close(), TEST_TIMEOUT_MS, 'close');
  await withTimeout(reader.ended, TEST_TIMEOUT_MS, 'reader EOF');
  assert.deepEqual(reader.bytes(), Buffer.concat(sent));
});

test('reader leaving gives ERR_PCAP_EPIPE without a crash; reopening gives a fresh header', async (t) => {
  const fifo = await makeTempFifo(t);
  const a = batch(1, 4, 200);
  const b = batch(2, 4, 200);
  const c = batch(3, 2, 300);

  // first reader: reads header + a, then goes away
  const fd1 = await openReadSide(t, fifo);
  const w1 = await withTimeout(PcapWriter.open(fifo), TEST_TIMEOUT_MS, 'open #1');
  const errored = once(w1, 'error');
  const r1 = startReading(t, fd1);
  assert.equal(w1.write(a), true);
  const want1 = Buffer.concat([encodePcapHeader(), a]);
  while (r1.bytes().length < want1.length)
    await withTimeout(once(r1.socket, 'data'), TEST_TIMEOUT_MS, 'reader #1 data');
  assert.deepEqual(r1.bytes(), want1);
  const r1closed = once(r1.socket, 'close');
  r1.socket.destroy();
  await withTimeout(r1closed, TEST_TIMEOUT_MS, 'reader #1 close');

  w1.write(b); // the OS refuses it: no reader
  const [err] = (await withTimeout(errored, TEST_TIMEOUT_MS, "'error' event")) as [unknown];
  assert.ok(err instanceof PcapWriteError);
  assert.equal(err.code, 'ERR_PCAP_EPIPE');
  assert.equal((err.cause as { code?: string }).code, 'EPIPE');
  assert.equal(w1.error, err);
  assert.equal(w1.write(c), false); // dead: refuses everything
  assert.equal(w1.pendingBytes, 0);
  await withTimeout(w1.close(), TEST_TIMEOUT_MS, 'close of a dead writer'); // resolves; the error was already emitted
  await w1.close();

  // second reader: gets a header of its own and only what was written after the reopen
  const fd2 = await openReadSide(t, fifo);
  const w2 = await withTimeout(PcapWriter.open(fifo), TEST_TIMEOUT_MS, 'open #2');
  const r2 = startReading(t, fd2);
  assert.equal(w2.write(c), true);
  await withTimeout(w2.close(), TEST_TIMEOUT_MS, 'close #2');
  await withTimeout(r2.ended, TEST_TIMEOUT_MS, 'reader #2 EOF');
  assert.deepEqual(r2.bytes(), Buffer.concat([encodePcapHeader(), c]));
});
