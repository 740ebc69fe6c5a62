// Proves the pusher's connection story against real ZeroMQ peers: retrying, connected and disconnected lines with the endpoint (the last two PeerWatch's), one no-receiver warning per spell without a peer, an unresolvable host said once, the warning at close with nobody connected; and an unresolvable statsd host warned once, at start.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pull } from 'zeromq';
import { NonBlockingPusher, createLogger, createMetrics, type Logger } from '../src/index.js';
import { TEST_TIMEOUT_MS, makeTempDir, withTimeout } from '@nflog-pipe/testing';

/** A logger whose lines a test can wait for. */
function capture(): {
  log: Logger;
  lines: string[];
  waitFor: (re: RegExp, n?: number) => Promise<void>;
} {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const log = createLogger({
    name: 't',
    level: 'info',
    stream: {
      write(chunk: string) {
        lines.push(...chunk.split('\n').filter((l) => l !== ''));
        for (const w of [...waiters]) w();
      },
    },
  });
  const waitFor = (re: RegExp, n = 1): Promise<void> => {
    let check: () => void = () => {};
    const p = new Promise<void>((resolve) => {
      check = () => {
        if (lines.filter((l) => re.test(l)).length >= n) resolve();
      };
      waiters.add(check);
      check();
    });
    return withTimeout(p, TEST_TIMEOUT_MS, `${n} log line(s) ${re}: ${lines.join(' | ')}`).finally(
      () => waiters.delete(check),
    );
  };
  return { log, lines, waitFor };
}

const count = (lines: string[], re: RegExp): number => lines.filter((l) => re.test(l)).length;

test('connection events: retrying, no receiver, connected, disconnected, and the close warning', async (t) => {
  const { log, lines, waitFor } = capture();
  // ipc in our own directory: nobody else can be listening there (a freed TCP port can be).
  const endpoint = `ipc://${join(await makeTempDir(t), 'recv.sock')}`;
  const pusher = NonBlockingPusher.connect(endpoint, {
    sendHighWaterMark: 8,
    lingerMs: 100,
    logger: log,
    noPeerWarnMs: 150,
  });
  t.after(() => pusher.close());
  await waitFor(new RegExp(` INFO t: cannot connect, retrying endpoint=${endpoint} retry_ms=\\d+`));
  await waitFor(new RegExp(` WARN t: no receiver connected for 0.15 s: .* endpoint=${endpoint}`));
  assert.equal(pusher.connected, false);
  pusher.push(Buffer.from('queued while away'), 1);

  const pull = new Pull({ linger: 0 });
  await pull.bind(endpoint);
  await waitFor(new RegExp(` INFO t: connected \\(handshake done\\) endpoint=${endpoint}`));
  assert.equal(pusher.connected, true);
  const [msg] = await withTimeout(pull.receive(), TEST_TIMEOUT_MS, 'the queued message');
  assert.equal(msg?.toString(), 'queued while away');

  pull.close();
  await waitFor(new RegExp(` INFO t: disconnected endpoint=${endpoint}`));
  await waitFor(/ no receiver connected for /, 2);
  assert.equal(pusher.connected, false);
  await pusher.close();
  await waitFor(
    new RegExp(
      ` WARN t: stopping with no receiver connected: .* endpoint=${endpoint} linger_ms=100`,
    ),
  );
  // Once per spell: two spells without a peer, so two retry lines at most and two warnings.
  assert.equal(count(lines, / no receiver connected for /), 2);
  assert.ok(count(lines, / cannot connect, retrying /) <= 2, lines.join('\n'));
  assert.equal(count(lines, / connected \(handshake done\) /), 1);
  assert.equal(count(lines, / cannot resolve /), 0, 'an address needs no lookup');
});

test('a host name that does not resolve is warned once; noPeerWarnMs 0 never warns; no logger, no lines', async () => {
  const { log, lines, waitFor } = capture();
  const endpoint = 'tcp://nothing.nfp-test.invalid:5555';
  const pusher = NonBlockingPusher.connect(endpoint, {
    sendHighWaterMark: 1,
    lingerMs: 0,
    logger: log,
    noPeerWarnMs: 0,
  });
  await waitFor(
    new RegExp(
      ` WARN t: cannot resolve the host of the endpoint; ZeroMQ keeps retrying endpoint=${endpoint} host=nothing\\.nfp-test\\.invalid code=E[A-Z_]+`,
    ),
  );
  await waitFor(/ cannot connect, retrying /);
  await pusher.close();
  assert.equal(count(lines, / cannot resolve /), 1);
  assert.equal(count(lines, / no receiver connected /), 0);
  // Linger 0: nothing waits, so nothing to warn about at close either.
  assert.equal(count(lines, / stopping with no receiver /), 0);
  const silent = NonBlockingPusher.connect(endpoint, { sendHighWaterMark: 1, lingerMs: 0 });
  assert.equal(silent.connected, undefined);
  await silent.close();
});

test('an unresolvable statsd host is warned once, at start, not at the first flush', async () => {
  const { log, lines, waitFor } = capture();
  const metrics = createMetrics(
    {
      host: 'statsd.nfp-test.invalid',
      port: 8125,
      prefix: 'x.',
      flushIntervalMs: 3_600_000,
      type: 'c',
    },
    log,
  );
  await waitFor(
    / WARN t: cannot resolve the statsd host: .* host=statsd\.nfp-test\.invalid code=E[A-Z_]+/,
  );
  // The sends fail with the same code: still the one warning.
  metrics.flush();
  await metrics.close();
  assert.equal(lines.filter((l) => / WARN /.test(l)).length, 1, lines.join('\n'));
});
