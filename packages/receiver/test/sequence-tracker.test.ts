// Proves per-sender loss accounting: gaps counted exactly, new senders and reordering apart, jumps no sender could make refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEQUENCE_JUMP_SLACK, SEQUENCE_MAX_PPS, SequenceTracker } from '@nflog-pipe/receiver';

test('contiguous frames lose nothing; a forward gap is counted exactly', () => {
  const t = new SequenceTracker();
  assert.deepEqual(t.observe(1n, 0n, 10), {
    lost: 0,
    newSender: true,
    behind: false,
    implausible: false,
  });
  assert.deepEqual(t.observe(1n, 10n, 5), {
    lost: 0,
    newSender: false,
    behind: false,
    implausible: false,
  });
  assert.deepEqual(t.observe(1n, 22n, 3), {
    lost: 7,
    newSender: false,
    behind: false,
    implausible: false,
  });
  assert.deepEqual(t.observe(1n, 25n, 0), {
    lost: 0,
    newSender: false,
    behind: false,
    implausible: false,
  }); // heartbeat
  assert.deepEqual(t.observe(1n, 30n, 0), {
    lost: 5,
    newSender: false,
    behind: false,
    implausible: false,
  }); // heartbeat after drops
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
    implausible: 0,
  });
});

test('senders are independent; a restarted sender (new id) starts fresh', () => {
  const t = new SequenceTracker();
  t.observe(0xan, 0n, 4);
  t.observe(0xbn, 100n, 4); // joined late: numbers before its first frame are not loss
  t.observe(0xan, 6n, 1); // 2 lost
  t.observe(0xbn, 104n, 1);
  assert.deepEqual(t.observe(0xcn, 0n, 3), {
    lost: 0,
    newSender: true,
    behind: false,
    implausible: false,
  });
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
  assert.deepEqual(t.observe(1n, 5n, 10), {
    lost: 0,
    newSender: false,
    behind: true,
    implausible: false,
  }); // overlap 5..15
  assert.deepEqual(t.observe(1n, 3n, 2), {
    lost: 0,
    newSender: false,
    behind: true,
    implausible: false,
  }); // duplicate
  assert.deepEqual(t.observe(1n, 15n, 1), {
    lost: 0,
    newSender: false,
    behind: false,
    implausible: false,
  });
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

test('a jump ahead beyond SEQUENCE_MAX_PPS × elapsed + SEQUENCE_JUMP_SLACK is refused and moves nothing', () => {
  let nowMs = 1_700_000_000_000;
  const t = new SequenceTracker(16, () => nowMs);
  t.observe(1n, 0n, 10, nowMs);
  nowMs += 1000; // one second later: at most 10 M + 2^20 numbers further
  const limit = BigInt(SEQUENCE_JUMP_SLACK + SEQUENCE_MAX_PPS);
  assert.deepEqual(t.observe(1n, 10n + limit + 1n, 5, nowMs), {
    lost: 0,
    newSender: false,
    behind: false,
    implausible: true,
  });
  // The far frame (the forged one of the issue: 999,550,000 ahead) counts nothing either.
  assert.equal(t.observe(1n, 999_550_010n, 5, nowMs).implausible, true);
  // The sender goes on where it was: no loss, and the gap right at the limit is still a gap.
  assert.deepEqual(t.observe(1n, 10n, 5, nowMs), {
    lost: 0,
    newSender: false,
    behind: false,
    implausible: false,
  });
  nowMs += 1000;
  assert.deepEqual(t.observe(1n, 15n + limit, 1, nowMs), {
    lost: Number(limit),
    newSender: false,
    behind: false,
    implausible: false,
  });
  const [s] = t.senders();
  assert.deepEqual([s!.frames, s!.packets, s!.lost, s!.implausible], [3, 16, Number(limit), 2]);
});

test('frames that waited out an outage in queues (old records) still allow the gap of the whole outage', () => {
  let nowMs = 1_700_000_000_000;
  const t = new SequenceTracker(16, () => nowMs);
  // A receiver that just started: the first frames are old ones the sender had queued 600 s
  // ago (their records say so), followed at once by a frame after 600 s of drops at 50 k/s.
  const capturedMs = nowMs - 600_000;
  t.observe(7n, 1000n, 10, capturedMs);
  t.observe(7n, 1010n, 10, capturedMs + 1);
  const dropped = 600 * 50_000;
  assert.deepEqual(t.observe(7n, BigInt(1020 + dropped), 10, nowMs), {
    lost: dropped,
    newSender: false,
    behind: false,
    implausible: false,
  });
  // A heartbeat (no records) after a quiet minute may jump a minute's worth.
  nowMs += 60_000;
  assert.equal(t.observe(7n, BigInt(1030 + dropped + 60 * SEQUENCE_MAX_PPS), 0).implausible, false);
});
