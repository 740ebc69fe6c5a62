// Proves per-sender loss accounting: gaps counted exactly, new senders and reordering apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SequenceTracker } from '@nflog-pipe/receiver';

test('contiguous frames lose nothing; a forward gap is counted exactly', () => {
  const t = new SequenceTracker();
  assert.deepEqual(t.observe(1n, 0n, 10), { lost: 0, newSender: true, behind: false });
  assert.deepEqual(t.observe(1n, 10n, 5), { lost: 0, newSender: false, behind: false });
  assert.deepEqual(t.observe(1n, 22n, 3), { lost: 7, newSender: false, behind: false });
  assert.deepEqual(t.observe(1n, 25n, 0), { lost: 0, newSender: false, behind: false }); // heartbeat
  assert.deepEqual(t.observe(1n, 30n, 0), { lost: 5, newSender: false, behind: false }); // heartbeat after drops
  assert.equal(t.totalLost, 12);
  const [s] = t.senders();
  assert.deepEqual(s, {
    id: '0000000000000001',
    firstSeq: 0n,
    nextSeq: 30n,
    frames: 5,
    packets: 18,
    lost: 12,
    behind: 0,
  });
});

test('senders are independent; a restarted sender (new id) starts fresh', () => {
  const t = new SequenceTracker();
  t.observe(0xan, 0n, 4);
  t.observe(0xbn, 100n, 4); // joined late: numbers before its first frame are not loss
  t.observe(0xan, 6n, 1); // 2 lost
  t.observe(0xbn, 104n, 1);
  assert.deepEqual(t.observe(0xcn, 0n, 3), { lost: 0, newSender: true, behind: false });
  assert.deepEqual(
    t.senders().map((s) => [s.id, s.lost, s.packets]),
    [
      ['000000000000000a', 2, 5],
      ['000000000000000b', 0, 5],
      ['000000000000000c', 0, 3],
    ],
  );
  assert.equal(t.totalLost, 2);
});

test('frames behind the expected number count as behind, not as loss, and never move it back', () => {
  const t = new SequenceTracker();
  t.observe(1n, 0n, 10);
  assert.deepEqual(t.observe(1n, 5n, 10), { lost: 0, newSender: false, behind: true }); // overlap 5..15
  assert.deepEqual(t.observe(1n, 3n, 2), { lost: 0, newSender: false, behind: true }); // duplicate
  assert.deepEqual(t.observe(1n, 15n, 1), { lost: 0, newSender: false, behind: false });
  assert.equal(t.senders()[0]!.behind, 2);
});

test('remembers at most maxSenders, forgetting the least recently seen', () => {
  const t = new SequenceTracker(2);
  t.observe(1n, 0n, 1);
  t.observe(2n, 0n, 1);
  t.observe(1n, 1n, 1);
  t.observe(3n, 0n, 1); // forgets 2
  assert.deepEqual(
    t.senders().map((s) => s.id.slice(-1)),
    ['1', '3'],
  );
  assert.equal(t.observe(2n, 1n, 1).newSender, true);
});
