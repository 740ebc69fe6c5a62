// Proves the CLI runtime helpers: withCliRuntime releases its signal handlers whether the body
// resolves or throws, startStatsLine logs `stats` lines until stopped (none at interval 0), and
// statsIntervalOption parses seconds to ms with its default.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import {
  METRIC,
  createLogger,
  startStatsLine,
  statsIntervalOption,
  withCliRuntime,
  type Logger,
} from '../src/index.js';

/** A logger whose lines are kept, and a promise of the first line that matches `re`. */
function keptLogger(re: RegExp): { logger: Logger; lines: string[]; seen: Promise<string> } {
  const lines: string[] = [];
  let resolveSeen!: (line: string) => void;
  const seen = new Promise<string>((resolve) => (resolveSeen = resolve));
  const logger = createLogger({
    name: 'x',
    stream: {
      write: (s: string) => {
        lines.push(s);
        if (re.test(s)) resolveSeen(s);
      },
    },
  });
  return { logger, lines, seen };
}

test('withCliRuntime hands out signals and metrics and releases them after the body', async () => {
  const { logger } = keptLogger(/^$/);
  const before = process.listenerCount('SIGTERM');
  const r = await withCliRuntime({}, logger, async ({ signals, metrics }) => {
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    assert.equal(signals.stopped.aborted, false);
    metrics.increment(METRIC.CAPTURED_PKT, 2);
    return 7;
  });
  assert.equal(r, 7);
  assert.equal(process.listenerCount('SIGTERM'), before);
});

test('withCliRuntime rethrows what the body throws and still releases the handlers', async () => {
  const { logger } = keptLogger(/^$/);
  const before = process.listenerCount('SIGINT');
  const boom = Object.assign(new Error('boom'), { code: 'ERR_TEST_BOOM' });
  await assert.rejects(
    withCliRuntime({}, logger, () => Promise.reject(boom)),
    (err: unknown) => (err as { code?: string }).code === 'ERR_TEST_BOOM',
  );
  assert.equal(process.listenerCount('SIGINT'), before);
});

test('startStatsLine logs `stats` with the fields until stopped', async () => {
  const { logger, lines, seen } = keptLogger(/ stats /);
  let calls = 0;
  const stop = startStatsLine(logger, 5, () => ({ n: ++calls }));
  // The stats timer is unref'd (it must never keep a CLI alive); keep the loop alive here.
  const keepAlive = setInterval(() => {}, 1000);
  const line = await seen.finally(() => clearInterval(keepAlive));
  stop();
  stop(); // twice is safe
  assert.match(line, / stats n=1\n$/);
  assert.equal(lines.length, calls);
});

test('startStatsLine at interval 0 logs nothing and never asks for fields', () => {
  const { logger, lines } = keptLogger(/^$/);
  const stop = startStatsLine(logger, 0, () => assert.fail('fields() called'));
  stop();
  assert.deepEqual(lines, []);
});

test('statsIntervalOption parses seconds to ms; the default is in seconds', () => {
  const parse = (argv: string[]): unknown =>
    new Command()
      .addOption(statsIntervalOption(60))
      .exitOverride()
      .parse(argv, { from: 'user' })
      .opts()['statsInterval'];
  assert.equal(parse([]), 60_000);
  assert.equal(parse(['--stats-interval', '0.05']), 50);
  assert.equal(parse(['--stats-interval', '0']), 0);
});
