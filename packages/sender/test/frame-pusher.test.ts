// FramePusher never waits: frames are queued by ZeroMQ or dropped and counted, sent + dropped = pushed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import { FramePusher, type PushSocketLike } from '../src/index.js';
import { makeTempDir, withTimeout, TEST_TIMEOUT_MS } from '@nflog-pipe/shared/testing';

test('to a live PULL: every frame arrives byte for byte, in order, and is counted as sent', async (t) => {
  const dir = await makeTempDir(t);
  const endpoint = `ipc://${join(dir, 'pull.sock')}`;
  const pull = new Pull();
  t.after(() => pull.close());
  await pull.bind(endpoint);
  let sentCb = 0;
  const pusher = FramePusher.connect(endpoint, { sendHighWaterMark: 1000, lingerMs: 1000 }, { onSent: (p) => (sentCb += p) });
  const frames = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100 + i, i));
  for (const [i, f] of frames.entries()) pusher.push(f, i + 1);
  await pusher.settled();
  const st = pusher.stats();
  assert.equal(st.sentFrames + st.droppedFrames, 50);
  assert.equal(st.droppedFrames, 0, 'SNDHWM 1000 holds 50 frames even before the peer is connected');
  assert.equal(st.sentPackets, (50 * 51) / 2);
  assert.equal(sentCb, st.sentPackets);
  assert.equal(
    st.sentBytes,
    frames.reduce((n, f) => n + f.length, 0),
  );
  for (const f of frames) {
    const [msg] = await withTimeout(pull.receive(), TEST_TIMEOUT_MS, 'a frame');
    assert.deepEqual(msg, f);
  }
  await pusher.close();
  await pusher.close();
});

test('with no peer: SNDHWM frames are queued, the rest dropped and counted at once', async () => {
  const pusher = FramePusher.connect('ipc:///nonexistent-nfp-dir/nobody.sock', { sendHighWaterMark: 4, lingerMs: 0 });
  let dropped = 0;
  for (let i = 0; i < 100; i++) pusher.push(Buffer.alloc(300), 3);
  await pusher.settled();
  const st = pusher.stats();
  dropped = st.droppedFrames;
  assert.equal(st.sentFrames + dropped, 100);
  // libzmq queues up to SNDHWM messages on a connecting socket with no peer yet.
  assert.equal(st.sentFrames, 4);
  assert.equal(st.droppedPackets, 96 * 3);
  assert.equal(st.unsettled, 0);
  await pusher.close();
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
  let droppedCb = 0;
  const pusher = new FramePusher(sock, 250, {
    onError: (e) => errors.push(e.code ?? '?'),
    onDropped: (p) => (droppedCb += p),
  });
  for (let i = 0; i < 6; i++) pusher.push(Buffer.from([i]), 10 + i);
  await pusher.settled();
  const st = pusher.stats();
  assert.deepEqual(
    [st.sentFrames, st.sentPackets, st.droppedFrames, st.droppedPackets],
    [2, 10 + 15, 4, 11 + 12 + 13 + 14],
  );
  assert.equal(droppedCb, st.droppedPackets);
  assert.deepEqual(errors, ['EBUSY', 'EFSM']);
  await pusher.close();
  assert.equal(sock.closed, true);
  assert.equal(sock.linger, 250);
  pusher.push(Buffer.from([9]), 7);
  assert.equal(pusher.stats().droppedPackets, st.droppedPackets + 7);
});
