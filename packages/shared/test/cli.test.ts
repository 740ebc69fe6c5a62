// Proves the CLI conventions: exit codes 0/1/2, exactly one stderr line per error, --help and
// --version, --debug stacks, the statsd flags, and runBin's exit code and last-resort handler.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { InvalidArgumentError, type Command } from 'commander';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  VERSION,
  addStatsdOptions,
  createProgram,
  formatErrorLine,
  parseMiB,
  parseStatsdSampling,
  runProgram,
  statsdOptionsFrom,
} from '../src/index.js';
import { spawnChild } from '@nflog-pipe/testing';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/bin-fixture.mjs', import.meta.url));

/** A program whose output is captured instead of written to the terminal. */
function captured(): { program: Command; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const program = createProgram('tool', 'A test tool')
    .option('-b, --buffer <MiB>', 'buffer size in MiB', parseMiB)
    .configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  return { program, out: () => out, err: () => err };
}

async function run(argv: string[], action: () => Promise<number> = async () => 0) {
  const c = captured();
  const code = await runProgram(c.program, argv, action);
  return { code, out: c.out(), err: c.err() };
}

test('success returns the action code and passes options, args and a logger', async () => {
  const c = captured();
  c.program.argument('[files...]');
  let seen: unknown;
  const code = await runProgram<{ buffer?: number; debug: boolean }>(
    c.program,
    ['-b', '2', 'x', 'y'],
    async (ctx) => {
      seen = {
        buffer: ctx.opts.buffer,
        debug: ctx.opts.debug,
        args: ctx.args,
        level: ctx.logger.level,
      };
      ctx.logger.info('hi', { k: 1 });
      return 0;
    },
  );
  assert.equal(code, EXIT_OK);
  assert.deepEqual(seen, {
    buffer: 2 * 1024 * 1024,
    debug: false,
    args: ['x', 'y'],
    level: 'info',
  });
  assert.match(c.err(), /^\S+ INFO tool: hi k=1\n$/);
});

test('--help and --version print on stdout and exit 0', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, EXIT_OK);
  assert.equal(help.err, '');
  assert.match(help.out, /^Usage: tool \[options\]/);
  assert.match(help.out, /--debug/);
  const version = await run(['--version']);
  assert.deepEqual(version, { code: EXIT_OK, out: `${VERSION}\n`, err: '' });
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

test('usage errors are one line and exit 2', async () => {
  let ran = false;
  const table: [string[], RegExp][] = [
    [['--bogus'], /^tool: unknown option '--bogus'\n$/],
    [['--debu'], /^tool: unknown option '--debu' \(Did you mean --debug\?\)\n$/],
    [['-b', 'lots'], /^tool: option '-b, --buffer <MiB>' argument 'lots' is invalid\. .*\n$/],
    [['-b'], /^tool: option '-b, --buffer <MiB>' argument missing\n$/],
    [['extra'], /^tool: too many arguments\. .*\n$/],
  ];
  for (const [argv, re] of table) {
    const r = await run(argv, async () => {
      ran = true;
      return 0;
    });
    assert.equal(r.code, EXIT_USAGE, argv.join(' '));
    assert.match(r.err, re);
    assert.equal(r.out, '');
  }
  assert.equal(ran, false);
});

test('a UsageError (or InvalidArgumentError) from the action exits 2 with one line', async () => {
  const r = await run([], async () => {
    throw new UsageError('--lwm must be below --hwm');
  });
  assert.deepEqual(r, { code: EXIT_USAGE, out: '', err: 'tool: --lwm must be below --hwm\n' });
  const r2 = await run([], async () => {
    throw new InvalidArgumentError('bad value');
  });
  assert.equal(r2.code, EXIT_USAGE);
});

test('a runtime error exits 1 with one line; --debug adds the stack', async () => {
  const fail = async (): Promise<number> => {
    throw new Error('cannot open /x', { cause: new Error('ENOENT') });
  };
  const r = await run([], fail);
  assert.deepEqual(r, { code: EXIT_FAILURE, out: '', err: 'tool: cannot open /x: ENOENT\n' });
  const d = await run(['--debug'], fail);
  assert.equal(d.code, EXIT_FAILURE);
  const lines = d.err.split('\n');
  assert.equal(lines[0], 'tool: cannot open /x: ENOENT');
  assert.equal(lines[1], 'Error: cannot open /x');
  assert.match(lines[2] ?? '', /^\s+at /);
});

test('--debug makes the logger log debug lines', async () => {
  const c = captured();
  await runProgram(c.program, ['--debug'], async ({ logger }) => {
    logger.debug('detail');
    return 0;
  });
  assert.match(c.err(), / DEBUG tool: detail\n$/);
  const q = captured();
  await runProgram(q.program, [], async ({ logger }) => {
    logger.debug('detail');
    return 0;
  });
  assert.equal(q.err(), '');
});

test('formatErrorLine joins causes once and keeps one line', () => {
  assert.equal(formatErrorLine('p', new Error('a', { cause: new Error('b') })), 'p: a: b');
  assert.equal(
    formatErrorLine('p', new Error('open x: EACCES', { cause: new Error('EACCES') })),
    'p: open x: EACCES',
  );
  assert.equal(formatErrorLine('p', new Error('two\nlines')), 'p: two lines');
  assert.equal(formatErrorLine('p', 'str'), 'p: str');
});

test('statsd options: defaults, {host} expansion, interval rules', () => {
  const parse = (argv: string[]) => {
    const p = addStatsdOptions(createProgram('t', 'd'));
    p.parse(argv, { from: 'user' });
    return statsdOptionsFrom(p.opts());
  };
  assert.equal(parse([]), null);
  assert.deepEqual(parse(['-m', 'stats.example']), {
    host: 'stats.example',
    port: 8125,
    prefix: `${hostname()}.nflog_pipe.`,
    flushIntervalMs: 10_000,
    type: 'c',
  });
  assert.deepEqual(
    parse(['--statsd', '[::1]:9125', '-n', 'a.{host}.b.', '-i', '50/2', '-t', 'd']),
    {
      host: '::1',
      port: 9125,
      prefix: `a.${hostname()}.b.`,
      flushIntervalMs: 2000,
      type: 'd',
    },
  );
  assert.equal(parse(['-m', 'h', '-i', '10'])?.flushIntervalMs, 10_000);
  assert.equal(
    parse(['-m', 'h', '-i', '50/60', '--statsd-interval', '30'])?.flushIntervalMs,
    30_000,
  );
  assert.equal(parse(['-m', 'h', '--statsd-interval', '0.5'])?.flushIntervalMs, 500);
  assert.deepEqual(parseStatsdSampling('50/60'), { count: 50, intervalMs: 60_000 });
  assert.deepEqual(parseStatsdSampling('7'), { count: 7 });
});

test('bad statsd option values exit 2', async () => {
  for (const argv of [
    ['-m', 'h:0'],
    ['-m', 'h:x'],
    ['-i', '50/'],
    ['-i', 'a/b'],
    ['-i', '1/2/3'],
    ['-t', 'c|#x'],
    ['--statsd-interval', '0'],
  ]) {
    let err = '';
    const p = addStatsdOptions(createProgram('t', 'd')).configureOutput({
      writeErr: (s) => (err += s),
    });
    assert.equal(await runProgram(p, argv, async () => 0), EXIT_USAGE, argv.join(' '));
    assert.equal(err.split('\n').length, 2, err);
    assert.match(err, /^t: option /);
  }
});

test('every statsd option shows its default or unit in --help', async () => {
  let out = '';
  const p = addStatsdOptions(createProgram('t', 'd')).configureOutput({
    writeOut: (s) => (out += s),
  });
  assert.equal(await runProgram(p, ['--help'], async () => 0), EXIT_OK);
  const text = out.replace(/\s+/g, ' ');
  assert.match(text, /-m, --statsd <host\[:port\]> .*port default 8125; default: off/);
  assert.match(
    text,
    /-n, --statsd-metrics-prefix <prefix> .*\(default: "\{host\}\.nflog_pipe\."\)/,
  );
  assert.match(text, /-i, --statsd-sampling <count\[\/interval\]> .*seconds.*\(default: 50\/60\)/);
  assert.match(text, /--statsd-interval <seconds> .*default: 10/);
  assert.match(text, /-t, --statsd-type <type> .*\(default: "c"\)/);
});

async function runFixture(args: string[]) {
  const h = spawnChild(process.execPath, [FIXTURE, ...args]);
  const { code, signal } = await h.exited;
  return { code, signal, stdout: h.stdout().toString(), stderr: h.stderr() };
}

test('runBin sets the exit code from main (real child processes)', async () => {
  const ok = await runFixture(['ok']);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'done\n');
  assert.match(ok.stderr, /^\S+ INFO fixture-tool: running mode=ok\n$/);

  const usage = await runFixture(['usage']);
  assert.equal(usage.code, 2);
  assert.equal(
    usage.stderr
      .split('\n')
      .filter((l) => !/ INFO /.test(l))
      .join('\n'),
    'fixture-tool: bad combination\n',
  );

  const fail = await runFixture(['fail']);
  assert.equal(fail.code, 1);
  assert.match(fail.stderr, /\nfixture-tool: it failed\n$/);

  const bad = await runFixture(['--nope']);
  assert.deepEqual([bad.code, bad.stderr], [2, "fixture-tool: unknown option '--nope'\n"]);

  const help = await runFixture(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: fixture-tool \[options\] <mode>/);
});

test('runBin last resort: a rejecting main or a floating rejection exits 1 with one line', async () => {
  const rejects = await runFixture(['main-rejects']);
  assert.deepEqual([rejects.code, rejects.stderr], [1, 'bin-fixture.mjs: main broke: the cause\n']);
  // The interval would keep the process alive forever; the handler must still end it with 1.
  const floating = await runFixture(['reject-hang']);
  assert.deepEqual([floating.code, floating.stderr], [1, 'bin-fixture.mjs: floating failure\n']);
});
