// NonBlockingPusher never waits: messages are queued by ZeroMQ or dropped and counted, sent + dropped = pushed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import { NonBlockingPusher, type PushSocketLike } from '../src/index.js';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/testing';

test('to a live PULL: every message arrives byte for byte, in order, and is counted as sent', async (t) => {
  const dir = await makeTempDir(t);
  const endpoint = `ipc://${join(dir, 'pull.sock')}`;
  const pull = new Pull();
  t.after(() => pull.close());
  await pull.bind(endpoint);
  let sentCb = 0;
  const pusher = NonBlockingPusher.connect(
    endpoint,
    { sendHighWaterMark: 1000, lingerMs: 1000 },
    { onSent: (p) => (sentCb += p) },
  );
  const frames = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100 + i, i));
  for (const [i, f] of frames.entries()) pusher.push(f, i + 1);
  await pusher.settled();
  const st = pusher.stats();
  assert.equal(st.sentMessages + st.droppedMessages, 50);
  assert.equal(
    st.droppedMessages,
    0,
    'SNDHWM 1000 holds 50 messages even before the peer is connected',
  );
  assert.equal(st.sentPackets, (50 * 51) / 2);
  assert.equal(sentCb, st.sentPackets);
  assert.equal(
    st.sentBytes,
    frames.reduce((n, f) => n + f.length, 0),
  );
  for (const f of frames) {
    const [msg] = await withTimeout(pull.receive(), TEST_TIMEOUT_MS, 'a message');
    assert.deepEqual(msg, f);
  }
  await pusher.close();
  await pusher.close();
});

test('with no peer: SNDHWM messages are queued, the rest dropped (EAGAIN) and counted at once', async () => {
  const codes = new Set<string | undefined>();
  const pusher = NonBlockingPusher.connect(
    'ipc:///nonexistent-nfp-dir/nobody.sock',
    { sendHighWaterMark: 4, lingerMs: 0 },
    { onDropped: (_p, err) => codes.add(err?.code) },
  );
  let dropped = 0;
  for (let i = 0; i < 100; i++) pusher.push(Buffer.alloc(300), 3);
  await pusher.settled();
  const st = pusher.stats();
  dropped = st.droppedMessages;
  assert.equal(st.sentMessages + dropped, 100);
  // libzmq queues up to SNDHWM messages on a connecting socket with no peer yet.
  assert.equal(st.sentMessages, 4);
  assert.equal(st.droppedPackets, 96 * 3);
  assert.equal(st.unsettled, 0);
  assert.deepEqual([...codes], ['EAGAIN']);
  // The queue refused the last one: the sender's failover reads this.
  assert.equal(pusher.queueFull, true);
  await pusher.close();
});

test('connect refuses a send high-water mark below 1 (0 would mean an unbounded queue)', () => {
  for (const sendHighWaterMark of [0, -1, 1.5]) {
    assert.throws(
      () =>
        NonBlockingPusher.connect('ipc:///nonexistent-nfp-dir/x.sock', {
          sendHighWaterMark,
          lingerMs: 0,
        }),
      RangeError,
    );
  }
});

/** A fake socket whose sends settle when the test says so, to cover outcomes ZeroMQ rarely shows. */
class FakeSocket implements PushSocketLike {
  linger = -1;
  closed = false;
  sent: Buffer[] = [];
  outcomes: Array<'ok' | 'EAGAIN' | 'EBUSY-throw' | 'EFSM'> = [];
  send(message: Buffer): Promise<void> {
    const o = this.outcomes.shift() ?? 'ok';
    if (o === 'EBUSY-throw') throw Object.assign(new Error('busy'), { code: 'EBUSY' });
    if (o === 'ok') {
      this.sent.push(message);
      return Promise.resolve();
    }
    return Promise.reject(Object.assign(new Error(o), { code: o }));
  }
  close(): void {
    this.closed = true;
  }
}

test('EAGAIN, a thrown EBUSY and other errors are all counted drops; other codes are reported once', async () => {
  const sock = new FakeSocket();
  sock.outcomes = ['ok', 'EAGAIN', 'EBUSY-throw', 'EFSM', 'EFSM', 'ok'];
  const errors: string[] = [];
  const droppedCodes: Array<string | undefined> = [];
  let droppedCb = 0;
  const pusher = new NonBlockingPusher(sock, 250, {
    onError: (e) => errors.push(e.code ?? '?'),
    onDropped: (p, err) => {
      droppedCb += p;
      droppedCodes.push(err?.code);
    },
  });
  assert.equal(pusher.queueFull, false, 'nothing refused yet');
  for (let i = 0; i < 2; i++) pusher.push(Buffer.from([i]), 10 + i);
  await pusher.settled();
  assert.equal(pusher.queueFull, true, 'the last outcome: EAGAIN');
  for (let i = 2; i < 6; i++) pusher.push(Buffer.from([i]), 10 + i);
  await pusher.settled();
  // EBUSY and EFSM are not a full queue; the last outcome, accepted, clears it anyway.
  assert.equal(pusher.queueFull, false);
  const st = pusher.stats();
  assert.deepEqual(
    [st.sentMessages, st.sentPackets, st.droppedMessages, st.droppedPackets],
    [2, 10 + 15, 4, 11 + 12 + 13 + 14],
  );
  assert.equal(droppedCb, st.droppedPackets);
  assert.deepEqual(errors, ['EBUSY', 'EFSM']);
  const closing = pusher.close();
  assert.equal(pusher.close(), closing);
  await closing;
  assert.equal(sock.closed, true);
  assert.equal(sock.linger, 250);
  pusher.push(Buffer.from([9]), 7);
  assert.equal(pusher.stats().droppedPackets, st.droppedPackets + 7);
  // The codes of the drops, in outcome order (EBUSY is thrown at once, the others settle later;
  // the EAGAIN was settled before it was sent); after close() there is none.
  assert.deepEqual(droppedCodes, ['EAGAIN', 'EBUSY', 'EFSM', 'EFSM', undefined]);
});
