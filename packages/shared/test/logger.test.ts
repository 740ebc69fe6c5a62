// Proves the logger's line format, pino level numbers and filtering, no-op disabled levels,
// key=value quoting, one line per event, and child bindings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOG_LEVELS, createLogger, type LogLevel } from '../src/index.js';

function sink(): { stream: { write(s: string): void }; lines: () => string[] } {
  let text = '';
  return {
    stream: { write: (s: string) => void (text += s) },
    lines: () => text.split('\n').slice(0, -1),
  };
}

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

test('pino level numbers', () => {
  assert.deepEqual(LOG_LEVELS, {
    trace: 10,
    debug: 20,
    info: 30,
    warn: 40,
    error: 50,
    fatal: 60,
    silent: Infinity,
  });
});

test('line format: <ISO time> <LEVEL> <name>: <msg> key=value', () => {
  const s = sink();
  const log = createLogger({ name: 'nflog-zmq-send', stream: s.stream });
  log.info('started', { group: 0, endpoint: 'tcp://127.0.0.1:5555', ok: true, big: 2n ** 64n });
  log.warn('queue full');
  const [a, b] = s.lines();
  assert.match(
    a ?? '',
    new RegExp(
      `^${ISO} INFO nflog-zmq-send: started group=0 endpoint=tcp://127.0.0.1:5555 ok=true big=18446744073709551616$`,
    ),
  );
  assert.match(b ?? '', new RegExp(`^${ISO} WARN nflog-zmq-send: queue full$`));
  assert.equal(s.lines().length, 2);
});

test('values with spaces, quotes or = are JSON-quoted; errors show code and message', () => {
  const s = sink();
  const log = createLogger({ name: 'x', stream: s.stream });
  const err = Object.assign(new Error('open failed'), { code: 'ENOENT' });
  log.error('e', {
    path: '/tmp/a b',
    eq: 'a=b',
    q: 'say "hi"',
    n: null,
    u: undefined,
    err,
    plain: new Error('p'),
    obj: { a: 1 },
  });
  assert.equal(
    s.lines()[0]?.replace(/^\S+ /, ''),
    'ERROR x: e path="/tmp/a b" eq="a=b" q="say \\"hi\\"" n=null u=undefined err="ENOENT: open failed" plain="p" obj="{\\"a\\":1}"',
  );
});

test('a newline in the message cannot make a second line', () => {
  const s = sink();
  createLogger({ name: 'x', stream: s.stream }).info('a\nb', { v: 'c\nd' });
  assert.equal(s.lines().length, 1);
  assert.match(s.lines()[0] ?? '', / INFO x: a\\nb v="c\\nd"$/);
});

test('levels below the threshold are filtered and share one no-op', () => {
  const levels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  for (const threshold of [...levels, 'silent'] as LogLevel[]) {
    const s = sink();
    const log = createLogger({ name: 'x', level: threshold, stream: s.stream });
    for (const l of levels) log[l as Exclude<LogLevel, 'silent'>](l);
    const expected = levels.filter((l) => LOG_LEVELS[l] >= LOG_LEVELS[threshold]);
    assert.deepEqual(
      s.lines().map((line) => line.split(' ')[1]),
      expected.map((l) => l.toUpperCase()),
      threshold,
    );
    for (const l of levels) assert.equal(log.isLevelEnabled(l), expected.includes(l));
  }
  const info = createLogger({ name: 'x', level: 'info', stream: sink().stream });
  assert.equal(info.trace, info.debug);
  assert.notEqual(info.info, info.warn);
  assert.throws(() => createLogger({ name: 'x', level: 'loud' as LogLevel }), TypeError);
});

test('child bindings come first, accumulate, and keep name and level', () => {
  const s = sink();
  const log = createLogger({ name: 'recv', level: 'debug', stream: s.stream });
  const c = log.child({ component: 'fifo' }).child({ sender: 'ab12' });
  c.debug('reopened', { attempt: 2 });
  log.info('parent');
  assert.equal(c.level, 'debug');
  assert.equal(c.name, 'recv');
  assert.match(s.lines()[0] ?? '', / DEBUG recv: reopened component=fifo sender=ab12 attempt=2$/);
  assert.match(s.lines()[1] ?? '', / INFO recv: parent$/);
});
