// The CURVE flags of every CLI: how they combine (usage errors, exit 2), repeatable allow lists, `any` alone; and the LogLimiter that rate-limits refusal lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EXIT_USAGE,
  LogLimiter,
  addCurveClientOptions,
  addCurveServerOptions,
  createProgram,
  curveClientFrom,
  curveServerFrom,
  runProgram,
} from '../src/index.js';

/** Parses `argv` with both option sets; returns the exit code and what the action saw. */
async function parse(argv: string[]): Promise<{ code: number; err: string; seen: unknown[] }> {
  let err = '';
  const program = createProgram('tool', 'test').configureOutput({
    writeErr: (s) => (err += s),
    writeOut: () => {},
  });
  addCurveServerOptions(program, { bufferAllow: true });
  addCurveClientOptions(program);
  const seen: unknown[] = [];
  const code = await runProgram(program, argv, ({ opts }) => {
    seen.push(curveServerFrom(opts), curveClientFrom(opts));
    return Promise.resolve(0);
  });
  return { code, err, seen };
}

test('server side: --curve-server with --curve-allow (repeatable), --buffer-curve-allow, any', async () => {
  assert.deepEqual((await parse([])).seen, [null, null]);
  assert.deepEqual(
    (await parse(['--curve-server', 's', '--curve-allow', 'a', '--curve-allow', 'b'])).seen[0],
    { secretCertPath: 's', allow: ['a', 'b'] },
  );
  assert.deepEqual(
    (await parse(['--curve-server', 's', '--curve-allow', 'any', '--buffer-curve-allow', 'q']))
      .seen[0],
    { secretCertPath: 's', allow: 'any', bufferAllow: ['q'] },
  );
});

test('client side: both flags or none', async () => {
  assert.deepEqual(
    (await parse(['--curve-client', 'c.key_secret', '--curve-server-key', 'srv.key'])).seen[1],
    { secretCertPath: 'c.key_secret', serverKey: 'srv.key' },
  );
});

test('combinations that are usage errors: one line, exit 2', async () => {
  for (const [argv, re] of [
    [['--curve-server', 's'], /--curve-server needs --curve-allow/],
    [['--curve-allow', 'a'], /--curve-allow needs --curve-server/],
    [['--buffer-curve-allow', 'a'], /--buffer-curve-allow needs --curve-server/],
    [
      ['--curve-server', 's', '--curve-allow', 'any', '--curve-allow', 'k'],
      /any cannot be combined/,
    ],
    [['--curve-client', 'c'], /--curve-client needs --curve-server-key/],
    [['--curve-server-key', 'k'], /--curve-server-key needs --curve-client/],
  ] as const) {
    const r = await parse([...argv]);
    assert.equal(r.code, EXIT_USAGE, argv.join(' '));
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').filter((l) => l !== '').length, 1, r.err);
  }
});

test('LogLimiter: first occurrence logged, then once per interval with the count left out; bounded keys', () => {
  let now = 0;
  const l = new LogLimiter({ intervalMs: 1000, maxKeys: 2, now: () => now });
  assert.equal(l.hit('a'), 0);
  assert.equal(l.hit('a'), undefined);
  assert.equal(l.hit('a'), undefined);
  now = 999;
  assert.equal(l.hit('a'), undefined);
  now = 1000;
  assert.equal(l.hit('a'), 3, 'three left out since the last line');
  assert.equal(l.hit('b'), 0);
  assert.equal(l.hit('c'), 0); // forgets 'a', the least recently logged
  assert.equal(l.hit('a'), 0, 'a forgotten key is news again');
  l.clear();
  assert.equal(l.hit('b'), 0);
});
