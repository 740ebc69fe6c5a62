// Proves the shared end-to-end helpers on real processes: log counters parsed exactly, waits resolve on the right line, stopCleanly checks exit and "stopped", Children resumes and kills, pause/resume hold a process, nftLogged reads a rule's counter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Children,
  Netns,
  logField,
  logLines,
  nftLogged,
  parseLogCounters,
  pause,
  pollUntil,
  procState,
  requirePrereqs,
  resume,
  sendTraffic,
  spawnChild,
  stopCleanly,
  waitForLogCounters,
  waitForLogLines,
  withTimeout,
  TEST_TIMEOUT_MS,
  type ChildHandle,
} from '../src/index.js';

const T = '2026-01-02T03:04:05.678Z';

test('parseLogCounters takes the numeric pairs only; logLines picks INFO lines by exact message; logField reads text', () => {
  const line = `${T} INFO nflog-pcap-recv: stats component=recv in_pkt=12 loss.network.pkt=3 sender=9c0d3f5e lag=-1 ratio=0.5 per_sender=00ff:12/3`;
  assert.deepEqual(parseLogCounters(line), { in_pkt: 12, 'loss.network.pkt': 3 });
  assert.deepEqual(parseLogCounters(`${T} INFO x: stopped`), {});
  const stderr = [
    `${T} INFO nflog-zmq-send: started component=sender sender=00aa`,
    `${T} INFO nflog-zmq-send: stats captured=1`,
    `${T} WARN nflog-zmq-send: stats captured=99`,
    `${T} INFO nflog-zmq-send: stats-extra captured=98`,
    `${T} INFO nflog-zmq-compress: stats compress_in.pkt=4`,
    `${T} INFO nflog-zmq-send: stopped captured=2`,
    `${T} INFO nflog-pcap-recv: new sender sender=00aa first_seq=0`,
    'nflog-zmq-send: cannot read NFLOG group 1: EPERM',
  ].join('\n');
  assert.deepEqual(logLines(stderr, 'stats').map(parseLogCounters), [
    { captured: 1 },
    { 'compress_in.pkt': 4 },
  ]);
  assert.deepEqual(logLines(stderr, 'stopped').map(parseLogCounters), [{ captured: 2 }]);
  const [announced] = logLines(stderr, 'new sender');
  assert.equal(logField(announced!, 'sender'), '00aa');
  assert.equal(logField(announced!, 'first_seq'), '0');
  assert.equal(logField(announced!, 'nope'), undefined);
});

/** A fake tool: three stats lines at once, then on SIGTERM a stopped line and exit `exitCode`. */
function fakeTool(exitCode: number, stoppedLines = 1): ChildHandle {
  // The SIGTERM handler is in place before the first line: a test may signal once it sees one.
  const script = `
    const w = (m) => process.stderr.write('${T} INFO fake-tool: ' + m + '\\n');
    const keep = setInterval(() => {}, 1000);
    process.on('SIGTERM', () => {
      for (let i = 0; i < ${stoppedLines}; i++) w('stopped n=3 done=1');
      process.exitCode = ${exitCode};
      clearInterval(keep);
    });
    w('started x=1');
    for (let n = 1; n <= 3; n++) w('stats n=' + n + ' sq=' + n * n);
  `;
  return spawnChild(process.execPath, ['-e', script]);
}

test('waitForLogCounters / waitForLogLines resolve on the matching line; stopCleanly returns the one stopped line', async (t) => {
  const kids = new Children(t);
  const h = kids.add(fakeTool(0));
  assert.deepEqual(await waitForLogCounters(h, 'stats', (c) => c['n'] === 2, 'n=2'), {
    n: 2,
    sq: 4,
  });
  assert.equal((await waitForLogLines(h, 'stats', 3)).length, 3);
  const line = await stopCleanly(h, 'fake tool');
  assert.deepEqual(parseLogCounters(line), { n: 3, done: 1 });
});

test('stopCleanly fails on a non-zero exit or on two stopped lines; waits fail when the process exits first', async (t) => {
  const kids = new Children(t);
  const bad = kids.add(fakeTool(3));
  await bad.waitForStderr(/ started /);
  await assert.rejects(stopCleanly(bad, 'exit 3'), { code: 'ERR_ASSERTION' });
  // The process is gone: a line that never came is an error now, not a hang.
  await assert.rejects(
    waitForLogCounters(bad, 'stats', (c) => c['n'] === 4, 'n=4'),
    (err: Error) => /exited before n=4/.test(err.message),
  );
  await assert.rejects(waitForLogLines(bad, 'stats', 4), (err: Error) =>
    /exited before/.test(err.message),
  );
  const twice = kids.add(fakeTool(0, 2));
  await twice.waitForStderr(/ started /);
  await assert.rejects(stopCleanly(twice, 'two stopped lines'), { code: 'ERR_ASSERTION' });
});

test('waitForStderrState gives up with ERR_TEST_TIMEOUT and the stderr of that moment', async (t) => {
  const kids = new Children(t);
  const h = kids.add(fakeTool(0));
  await h.waitForStderr(/ stats n=3 /);
  await assert.rejects(
    h.waitForStderrState(() => undefined, 'never', 1),
    (err: Error & { code?: string }) =>
      err.code === 'ERR_TEST_TIMEOUT' && err.message.includes('stats n=3'),
  );
  await stopCleanly(h, 'fake tool');
});

test('pause holds a child (state T) and resume lets it run; Children resumes and kills what a test leaves stopped', async (t) => {
  let h: ChildHandle | undefined;
  await t.test('a test that ends with its child paused', async (st) => {
    const kids = new Children(st);
    h = kids.add(fakeTool(0));
    await h.waitForStderr(/ started /);
    await pause(h);
    assert.equal(procState(h.pid), 'T');
    resume(h);
    await pollUntil(
      () => procState(h!.pid) !== 'T',
      () => `pid ${h!.pid} running again (state ${procState(h!.pid)})`,
    );
    await pause(h);
  });
  // The inner test's clean-up sent SIGCONT then SIGTERM: the fake tool handled it and exited 0.
  assert.deepEqual(
    await withTimeout(h!.exited, TEST_TIMEOUT_MS, 'the paused child to be cleaned up'),
    {
      code: 0,
      signal: null,
    },
  );
  assert.equal(logLines(h!.stderr(), 'stopped').length, 1);
});

test('nftLogged reads the counter of the rule that logs to a group', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const ns = await Netns.create('nftlog');
  t.after(() => ns.remove());
  await ns.nft(`
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9001 counter log group 3
    udp dport 9002 log group 4
  }
}
`);
  assert.equal(await nftLogged(ns, 3), 0);
  assert.deepEqual(await sendTraffic(ns, { proto: 'udp', port: 9001, count: 7, size: 10 }), {
    sent: 7,
  });
  assert.equal(await nftLogged(ns, 3), 7);
  await assert.rejects(nftLogged(ns, 4), /no rule with a counter logging to group 4/);
});
