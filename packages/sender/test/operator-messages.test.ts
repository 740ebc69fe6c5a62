// What the operator of nflog-zmq-send reads when the receiver is absent, comes and goes: retrying and connected/disconnected lines with the endpoint, a warning after --warn-no-receiver without a receiver, an unresolvable host (receiver or statsd) said once at start, a stop line that says queued (not sent), and never ZeroMQ.js's API hint.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Netns,
  binPath,
  makeTempDir,
  parseLogCounters,
  requirePrereqs,
  sendTraffic,
  stopCleanly,
  waitForLogCounters,
} from '@nflog-pipe/testing';

const RULES = `
table inet t {
  chain out {
    type filter hook output priority 0;
    udp dport 9000 log group 7
  }
}
`;
const PORT = 5791;
const ENDPOINT = `tcp://127.0.0.1:${PORT}`;

/** stderr lines with `level` whose message starts with `msg`. */
function lines(stderr: string, level: string, msg: string): string[] {
  return stderr.split('\n').filter((l) => l.includes(` ${level} nflog-zmq-send: ${msg}`));
}

test('an absent receiver, then one that comes and goes: every event said once, with the endpoint', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const dir = await makeTempDir(t);
  const ns = await Netns.create('opmsg');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '7',
    ENDPOINT,
    '--warn-no-receiver',
    '0.3',
    '--stats-interval',
    '0.1',
    // .invalid never resolves (RFC 2606): the operator must hear about it at once.
    '-m',
    'statsd.nfp-test.invalid',
  ]);
  const noReceiver = new RegExp(
    ` WARN nflog-zmq-send: no receiver connected for 0.3 s.*endpoint=${ENDPOINT}`,
  );
  await sender.waitForStderr(
    / INFO nflog-zmq-send: cannot connect, retrying .*endpoint=tcp:\/\/127\.0\.0\.1:5791/,
  );
  await sender.waitForStderr(noReceiver);
  await sender.waitForStderr(
    / WARN nflog-zmq-send: cannot resolve the statsd host.*host=statsd\.nfp-test\.invalid/,
  );
  await sendTraffic(ns, { proto: 'udp', family: 4, port: 9000, count: 20, size: 100, seed: 1 });
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === 20, 'captured=20');

  // A receiver comes: the queued frames go to it, and the sender says it is connected.
  const recv = ns.spawn(process.execPath, [
    binPath('nflog-pcap-recv'),
    ENDPOINT,
    join(dir, 'out.pcap'),
  ]);
  await recv.waitForStderr(/ started /);
  await sender.waitForStderr(
    new RegExp(` INFO nflog-zmq-send: connected \\(handshake done\\) .*endpoint=${ENDPOINT}`),
  );
  // It goes away: said once, and after --warn-no-receiver the warning comes again (a new spell).
  await stopCleanly(recv, 'the receiver');
  await sender.waitForStderr(
    new RegExp(` INFO nflog-zmq-send: disconnected .*endpoint=${ENDPOINT}`),
  );
  await sender.waitForStderrState(
    (s) => (lines(s, 'WARN', 'no receiver connected').length >= 2 ? true : undefined),
    'a second no-receiver warning',
  );
  await sendTraffic(ns, { proto: 'udp', family: 4, port: 9000, count: 5, size: 100, seed: 2 });
  await waitForLogCounters(sender, 'stats', (c) => c['captured'] === 25, 'captured=25');

  const stop = await stopCleanly(sender, 'the sender');
  const err = sender.stderr();
  const fin = parseLogCounters(stop);
  // "queued": accepted into the ZeroMQ queue, which is not delivery (the last 5 never were).
  assert.equal(fin['queued'], 25);
  assert.doesNotMatch(stop, / sent=/);
  assert.match(
    err,
    new RegExp(
      ` WARN nflog-zmq-send: stopping with no receiver connected.*endpoint=${ENDPOINT}.*linger_ms=1000`,
    ),
  );
  // ZeroMQ.js waits for the queue at exit; its hint names an API the operator cannot use.
  assert.doesNotMatch(err, /blocky/);
  // Said once each: one retry line per spell without a receiver (two spells), one resolve warning.
  assert.equal(lines(err, 'INFO', 'cannot connect, retrying').length, 2);
  assert.equal(lines(err, 'INFO', 'connected (handshake done)').length, 1);
  assert.equal(lines(err, 'INFO', 'disconnected').length, 1);
  assert.equal(lines(err, 'WARN', 'cannot resolve the statsd host').length, 1);
  assert.equal(
    lines(err, 'WARN', 'cannot send metrics').length,
    0,
    'the send errors are the same code',
  );
});

test('a receiver host that does not resolve is said at start, with the endpoint', async (t) => {
  if (!requirePrereqs(t, { root: true, tools: ['ip', 'nft'] })) return;
  const ns = await Netns.create('opmsg-dns');
  t.after(() => ns.remove());
  await ns.nft(RULES);
  const endpoint = 'tcp://receiver.nfp-test.invalid:5555';
  const sender = ns.spawn(process.execPath, [
    binPath('nflog-zmq-send'),
    '7',
    endpoint,
    '--warn-no-receiver',
    '0',
  ]);
  await sender.waitForStderr(
    / WARN nflog-zmq-send: cannot resolve the host of the endpoint; ZeroMQ keeps retrying .*endpoint=tcp:\/\/receiver\.nfp-test\.invalid:5555 host=receiver\.nfp-test\.invalid code=E[A-Z_]+/,
  );
  await sender.waitForStderr(/ cannot connect, retrying /);
  await stopCleanly(sender, 'the sender');
  assert.equal(
    lines(sender.stderr(), 'WARN', 'no receiver connected').length,
    0,
    '--warn-no-receiver 0: never',
  );
});
