// Proves the relays' queued PUSH end on a socket whose room the test controls: one send at a time, in order; a burst beyond ZeroMQ's room waits instead of being dropped; the byte bound drops and counts; close() delivers what it can within lingerMs and counts the rest; sent + dropped = pushed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PushSocketLike } from '@nflog-pipe/shared';
import { QueuedPusher } from '../src/index.js';

/** A socket with `room` free slots; a send beyond them waits until free() or close(). */
class FakeSocket implements PushSocketLike {
  linger = 0;
  closed = false;
  room: number;
  sent: Buffer[] = [];
  inProgress = 0;
  maxInProgress = 0;
  #waiting: Array<{ msg: Buffer; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(room: number) {
    this.room = room;
  }

  send(msg: Buffer): Promise<void> {
    this.inProgress++;
    this.maxInProgress = Math.max(this.maxInProgress, this.inProgress);
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ msg, resolve, reject });
      this.#serve();
    }).finally(() => this.inProgress--);
  }

  /** The peer took `n` messages: that much room again. */
  free(n: number): void {
    this.room += n;
    this.#serve();
  }

  close(): void {
    this.closed = true;
    for (const w of this.#waiting.splice(0)) {
      w.reject(Object.assign(new Error('closed'), { code: 'EAGAIN' }));
    }
  }

  #serve(): void {
    while (this.room > 0 && this.#waiting.length > 0) {
      const w = this.#waiting.shift()!;
      this.room--;
      this.sent.push(w.msg);
      w.resolve();
    }
  }
}

const msg = (i: number, bytes = 10): Buffer => Buffer.alloc(bytes, i);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a burst beyond ZeroMQ room waits in the queue and goes out whole, in order, one send at a time', async () => {
  const sock = new FakeSocket(5);
  const p = new QueuedPusher(sock, { queueBytes: 1_000_000, lingerMs: 1000 });
  for (let i = 0; i < 100; i++) p.push(msg(i), 2);
  await turn();
  assert.equal(sock.sent.length, 5);
  assert.deepEqual(
    [p.stats().queuedMessages, p.stats().queuedPackets, p.stats().droppedMessages],
    [95, 190, 0],
  );
  for (let k = 0; k < 19; k++) {
    sock.free(5);
    await turn();
  }
  await p.settled();
  assert.deepEqual(
    sock.sent.map((b) => b[0]),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.equal(sock.maxInProgress, 1);
  const s = p.stats();
  assert.deepEqual(
    [s.sentMessages, s.sentPackets, s.sentBytes, s.droppedMessages, s.queuedMessages],
    [100, 200, 1000, 0, 0],
  );
});

test('beyond queueBytes messages are dropped and counted; an empty queue always takes one', async () => {
  const sock = new FakeSocket(0);
  const dropped: number[] = [];
  const p = new QueuedPusher(
    sock,
    { queueBytes: 25, lingerMs: 0 },
    { onDropped: (packets) => dropped.push(packets) },
  );
  p.push(msg(0, 100), 1); // larger than the bound, but the queue is empty
  p.push(msg(1), 3);
  assert.deepEqual(dropped, [3]);
  sock.free(1);
  await turn();
  await turn();
  p.push(msg(2), 1);
  p.push(msg(3), 1);
  p.push(msg(4), 1); // 30 bytes > 25
  assert.deepEqual(dropped, [3, 1]);
  assert.deepEqual([p.stats().queuedMessages, p.stats().queuedBytes], [2, 20]);
  await p.close();
  assert.deepEqual(
    sock.sent.map((b) => b[0]),
    [0],
  );
  const s = p.stats();
  // lingerMs 0: the one in progress is settled by the socket's close, the other dropped here.
  assert.deepEqual(
    [s.sentMessages, s.droppedMessages, s.droppedPackets, s.queuedMessages],
    [1, 4, 6, 0],
  );
  assert.equal(sock.closed, true);
});

test('close() gives the queue lingerMs to drain; later pushes are dropped; twice is safe', async () => {
  const sock = new FakeSocket(0);
  const p = new QueuedPusher(sock, { queueBytes: 1000, lingerMs: 5000 });
  for (let i = 0; i < 10; i++) p.push(msg(i), 1);
  const closing = p.close();
  p.push(msg(99), 7);
  assert.equal(p.stats().droppedPackets, 7);
  sock.free(10);
  await closing;
  await p.close();
  assert.deepEqual(
    sock.sent.map((b) => b[0]),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.deepEqual([p.stats().sentMessages, p.stats().droppedMessages], [10, 1]);
  // What was left of lingerMs became ZMQ_LINGER.
  assert.ok(sock.linger > 0 && sock.linger <= 5000, String(sock.linger));
});

test('bad queueBytes is a RangeError', () => {
  for (const queueBytes of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new QueuedPusher(new FakeSocket(1), { queueBytes, lingerMs: 0 }),
      RangeError,
    );
  }
});
