// Proves PcapWriter's FIFO accounting with real reader processes: delivered + reported lost = written, exactly; the next reader never sees a stale tail.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { PCAP_HEADER_BYTES, PcapWriteError, PcapWriter, encodePcapHeader } from '../src/index.js';
import {
  Children,
  TEST_TIMEOUT_MS,
  makeTempDir,
  makeTempFifo,
  startFifoReader,
  withTimeout,
} from '@nflog-pipe/testing';
import { batch, wholeRecords } from './fifo-batches.js';

/**
 * A reader process that takes exactly `limit` bytes (0: until EOF) out of the FIFO and exits
 * (testing's startFifoReader). `done` is everything it took, read once it has exited.
 */
function startReader(
  t: TestContext,
  fifo: string,
  out: string,
  limit: number,
): { done: Promise<Buffer> } {
  const reader = new Children(t).add(startFifoReader(fifo, out, limit));
  const done = withTimeout(reader.exited, TEST_TIMEOUT_MS, `reader of ${limit} bytes`).then(
    async ({ code }) => {
      assert.equal(code, 0, reader.stderr());
      return readFile(out);
    },
  );
  return { done };
}

test('a reader leaving mid-record while the writer is idle: the probe reports the exact loss and the next reader starts clean', async (t) => {
  const fifo = await makeTempFifo(t);
  const dir = join(fifo, '..');
  const b = batch(1, 10, 60);
  const recordBytes = (i: number): number => 16 + 60 + (i % 7);
  const limit = PCAP_HEADER_BYTES + recordBytes(0) + recordBytes(1) + recordBytes(2) + 10;
  const first = startReader(t, fifo, join(dir, 'a.bin'), limit);

  const w1 = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 10, probeMs: 10 }),
    TEST_TIMEOUT_MS,
    'open',
  );
  t.after(() => w1.destroy());
  const errored = once(w1, 'error');
  assert.equal(w1.write(b), true);
  const stream = Buffer.concat([encodePcapHeader(), b]);
  assert.deepEqual(await first.done, stream.subarray(0, limit)); // it took exactly `limit` bytes

  // Nothing more is written: only the idle probe can notice the reader left.
  const [err] = (await withTimeout(errored, TEST_TIMEOUT_MS, "'error' from the probe")) as [
    unknown,
  ];
  assert.ok(err instanceof PcapWriteError);
  assert.equal(err.code, 'ERR_PCAP_EPIPE');
  assert.equal((err.cause as { code?: string }).code, 'ENXIO');
  // 3 records delivered whole; the 4th was cut, the other 6 were left in the pipe.
  assert.equal(err.lostRecords, 7);
  assert.equal(err.lostBytes, b.length - (limit - PCAP_HEADER_BYTES - 10));
  assert.equal(w1.pendingRecords, 0);
  await w1.close(); // already dead: resolves

  // The old pipe was emptied and let go: the next reader gets a header first, then whole records.
  const second = startReader(t, fifo, join(dir, 'b.bin'), 0);
  const w2 = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 10 }),
    TEST_TIMEOUT_MS,
    'open #2',
  );
  const c = batch(2, 3, 100);
  assert.equal(w2.write(c), true);
  await withTimeout(w2.close(), TEST_TIMEOUT_MS, 'close #2');
  assert.deepEqual(await second.done, Buffer.concat([encodePcapHeader(), c]));
});

test('a reader leaving under steady traffic: delivered + lostRecords = written, bytes too, including what it left in the pipe', async (t) => {
  const fifo = await makeTempFifo(t);
  const dir = join(fifo, '..');
  const limit = 300_007; // far beyond one pipe (64 KiB), and mid-record
  const reader = startReader(t, fifo, join(dir, 'a.bin'), limit);
  const w = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 10, highWaterMarkBytes: 512 * 1024 }),
    TEST_TIMEOUT_MS,
    'open',
  );
  t.after(() => w.destroy());
  let error: PcapWriteError | null = null;
  w.on('error', (err: PcapWriteError) => (error = err));
  const sent: Buffer[] = [encodePcapHeader()];
  let writtenRecords = 0;
  let writtenBytes = 0;
  for (let i = 0; w.error === null; i++) {
    assert.ok(i < 100_000, 'the reader never left');
    const b = batch(i, 100, 900); // ~92 KiB
    sent.push(b);
    writtenRecords += 100;
    writtenBytes += b.length;
    if (!w.write(b) && w.error === null) {
      // once(w, 'drain') rejects when 'error' comes instead: that ends the loop too
      await withTimeout(
        once(w, 'drain').catch(() => undefined),
        TEST_TIMEOUT_MS,
        'drain or error',
      );
    }
  }
  await withTimeout(
    new Promise((resolve) => setImmediate(resolve)),
    TEST_TIMEOUT_MS,
    'error event',
  );
  assert.ok(error !== null);
  const err: PcapWriteError = error;
  assert.equal(err.code, 'ERR_PCAP_EPIPE');
  assert.equal((err.cause as { code?: string }).code, 'EPIPE');

  const got = await reader.done;
  const stream = Buffer.concat(sent);
  assert.equal(got.length, limit);
  assert.deepEqual(got, stream.subarray(0, limit));
  const delivered = wholeRecords(got.subarray(PCAP_HEADER_BYTES));
  assert.equal(delivered.count + err.lostRecords, writtenRecords);
  assert.equal(delivered.bytes + err.lostBytes, writtenBytes);

  // The tail it left was read back out: the next reader gets a fresh stream.
  const next = startReader(t, fifo, join(dir, 'b.bin'), 0);
  const w2 = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 10 }),
    TEST_TIMEOUT_MS,
    'open #2',
  );
  const c = batch(7, 5, 50);
  w2.write(c);
  await withTimeout(w2.close(), TEST_TIMEOUT_MS, 'close #2');
  assert.deepEqual(await next.done, Buffer.concat([encodePcapHeader(), c]));
});

test('close() after the reader left with part of the stream rejects with the exact loss', async (t) => {
  const fifo = await makeTempFifo(t);
  const b = batch(3, 20, 200);
  const limit = PCAP_HEADER_BYTES + 1000;
  const reader = startReader(t, fifo, join(fifo, '..', 'a.bin'), limit);
  // probeMs far away: close() itself must find out
  const w = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 10, probeMs: 600_000 }),
    TEST_TIMEOUT_MS,
    'open',
  );
  let emitted = 0;
  w.on('error', () => emitted++);
  w.write(b);
  const got = await reader.done;
  const delivered = wholeRecords(got.subarray(PCAP_HEADER_BYTES));
  assert.ok(delivered.count > 0 && delivered.count < 20);
  await assert.rejects(withTimeout(w.close(), TEST_TIMEOUT_MS, 'close'), (err: unknown) => {
    assert.ok(err instanceof PcapWriteError);
    assert.equal(err.code, 'ERR_PCAP_EPIPE');
    assert.equal(err.lostRecords, 20 - delivered.count);
    assert.equal(err.lostBytes, b.length - delivered.bytes);
    return true;
  });
  assert.equal(emitted, 0);
});

test('destroy() returns the records the pipe did not take; what it took stays readable', async (t) => {
  const fifo = await makeTempFifo(t);
  // A reader that is there but does not read yet: the pipe fills and the rest waits in the writer.
  const readFd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  let readFdOpen = true;
  t.after(() => {
    if (readFdOpen) closeSync(readFd);
  });
  const w = await withTimeout(PcapWriter.openFifo(fifo), TEST_TIMEOUT_MS, 'open');
  const sent: Buffer[] = [encodePcapHeader()];
  for (let i = 0; i < 10; i++) {
    const b = batch(i, 50, 400); // ~21 KiB each, ~210 KiB in all: more than the pipe holds
    sent.push(b);
    w.write(b);
  }
  const pendingRecords = w.pendingRecords;
  assert.ok(pendingRecords > 0, 'the pipe took everything');
  const loss = w.destroy();
  assert.equal(loss.lostRecords, pendingRecords);
  assert.deepEqual(w.destroy(), { lostRecords: 0, lostBytes: 0 }); // twice: nothing more
  await w.close();

  // Read what the pipe holds; the writer is gone, so it ends with EOF.
  const out = join(fifo, '..', 'rest.bin');
  const { Socket } = await import('node:net');
  const socket = new Socket({ fd: readFd, readable: true, writable: false });
  readFdOpen = false;
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await withTimeout(once(socket, 'end'), TEST_TIMEOUT_MS, 'EOF');
  const got = Buffer.concat(chunks);
  await writeFile(out, got);
  const stream = Buffer.concat(sent);
  assert.deepEqual(got, stream.subarray(0, got.length));
  const delivered = wholeRecords(got.subarray(PCAP_HEADER_BYTES));
  assert.equal(delivered.count + loss.lostRecords, 500);
  assert.equal(delivered.bytes + loss.lostBytes, stream.length - PCAP_HEADER_BYTES);
});

test('waitReaderGone() is true once the reader closed, false while one stays', async (t) => {
  const fifo = await makeTempFifo(t);
  const reader = startReader(t, fifo, join(fifo, '..', 'a.bin'), 0);
  const w = await withTimeout(PcapWriter.openFifo(fifo, { retryMs: 10 }), TEST_TIMEOUT_MS, 'open');
  await w.close(); // EOF: the reader exits
  assert.equal(await withTimeout(w.waitReaderGone(), TEST_TIMEOUT_MS, 'reader gone'), true);
  assert.deepEqual(await reader.done, encodePcapHeader());

  // A reader that keeps the FIFO open: a second writer waits, then gives up.
  const fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  t.after(() => closeSync(fd));
  const w2 = await withTimeout(
    PcapWriter.openFifo(fifo, { retryMs: 5 }),
    TEST_TIMEOUT_MS,
    'open #2',
  );
  await w2.close();
  assert.equal(await w2.waitReaderGone({ timeoutMs: 20 }), false);
  await assert.rejects(w2.waitReaderGone({ signal: AbortSignal.abort() }), {
    code: 'ABORT_ERR',
  });
});

test('openFifo() never creates or opens anything but a FIFO', async (t) => {
  const dir = await makeTempDir(t);
  const file = join(dir, 'plain');
  await writeFile(file, 'keep me');
  await assert.rejects(PcapWriter.openFifo(file), { code: 'ERR_PCAP_NOT_FIFO' });
  assert.equal(await readFile(file, 'utf8'), 'keep me');
  await assert.rejects(PcapWriter.openFifo(join(dir, 'missing')), { code: 'ENOENT' });
  await assert.rejects(readFile(join(dir, 'missing')), { code: 'ENOENT' });
});
